"""`split_arrays` (the splits of `load` as NumPy), `one_hot=True`, and the argument checks."""

import numpy as np
import pytest
from conftest import decode_index

from kerasext import data


def collect(dataset):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in dataset])
    return np.concatenate(xs), np.concatenate(ys)


def test_split_arrays_holds_the_examples_load_gives(unique_npz):
    path = unique_npz()
    arrays = data.split_arrays(path, split=(0.6, 0.2, 0.2), seed=4)
    train, validation, test, info = data.load(path, split=(0.6, 0.2, 0.2), seed=4, batch_size=16)
    for name, dataset in (("validation", validation), ("test", test)):
        x, y = collect(dataset)
        np.testing.assert_array_equal(arrays[name][0], x)  # same examples, same order
        np.testing.assert_array_equal(arrays[name][1], y)
    x, y = arrays["train"]
    assert x.dtype == np.float32 and y.dtype == np.int64 and len(y) == info.split_sizes["train"]
    assert sorted(decode_index(x)) == sorted(decode_index(collect(train)[0]))


def test_split_arrays_of_a_fold(unique_npz):
    path = unique_npz()
    arrays = data.split_arrays(path, fold=(1, 3))
    validation = data.load(path, fold=(1, 3), batch_size=50)[1]
    np.testing.assert_array_equal(arrays["validation"][0], collect(validation)[0])


def test_one_hot_labels_in_every_split_and_the_position_kept():
    import keras

    train, validation, test, info = data.load("digits", batch_size=16, one_hot=True)
    for dataset in (train, validation, test):
        _, y = next(iter(dataset))
        assert y.shape == (16, 10) and y.dtype == "float32"
        np.testing.assert_array_equal(np.sum(y, axis=1), 1.0)
    assert data.position_of(train) is not None
    mixed = data.load("digits", batch_size=16, one_hot=True,
                      augment=[keras.layers.RandomFlip(), _SoftLabels()])[0]
    np.testing.assert_allclose(next(iter(mixed))[1], 0.1)  # soft labels left alone


class _SoftLabels:
    mixes_labels = True

    def __call__(self, images, labels):
        import tensorflow as tf

        return images, tf.fill([tf.shape(labels)[0], 10], 0.1)


@pytest.mark.parametrize("name", ["skip_bad_images", "resplit", "one_hot"])
def test_flags_must_be_bools(name):
    with pytest.raises(ValueError, match=f"`{name}` must be True or False. Received: {name}='yes'"):
        data.load("digits", **{name: "yes"})
