"""kerasext.data: sources, stratified disjoint splits, k-fold, the pipeline."""

import time

import numpy as np
import pytest
import tensorflow as tf
from conftest import decode_index

from kerasext import data


def collect(dataset):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in dataset])
    return np.concatenate(xs), np.concatenate(ys)


def test_digits_default_shapes_and_info():
    train, validation, test, info = data.load()
    assert info.name == "digits" and info.num_classes == 10
    assert info.class_names == [str(i) for i in range(10)]
    assert info.input_shape == (8, 8, 1)
    assert info.split_sizes == {"train": 1437, "validation": 180, "test": 180}
    x, y = collect(train)
    assert x.shape == (1437, 8, 8, 1) and x.dtype == np.float32 and y.dtype == np.int32
    assert 0.0 <= x.min() and x.max() <= 1.0


def test_digits_resize_and_rgb():
    train, _, _, info = data.load("digits", image_size=32, channels=3, batch_size=16)
    assert info.input_shape == (32, 32, 3)
    images, _ = next(iter(train))
    assert images.shape == (16, 32, 32, 3)
    np.testing.assert_array_equal(images[..., 0], images[..., 2])  # gray copied to RGB


def test_splits_are_disjoint_cover_everything_and_stratified(unique_npz):
    train, validation, test, info = data.load(unique_npz(), split=(0.6, 0.2, 0.2), batch_size=7)
    pairs = [collect(ds) for ds in (train, validation, test)]  # one pass: train reshuffles
    ids = [decode_index(x) for x, _ in pairs]
    labels = [y for _, y in pairs]
    assert [len(i) for i in ids] == [180, 60, 60]
    everything = np.concatenate(ids)
    assert len(np.unique(everything)) == 300  # no example in two splits, none missing
    for split_labels, size in zip(labels, (180, 60, 60)):
        np.testing.assert_array_equal(np.bincount(split_labels), [size // 3] * 3)
    # the labels travel with their images
    for split_ids, split_labels in zip(ids, labels):
        np.testing.assert_array_equal(split_ids // 100, split_labels)


def test_split_depends_on_seed_only():
    y = np.repeat(np.arange(5), 40)
    a = data.stratified_split(y, seed=3)
    b = data.stratified_split(y, seed=3)
    c = data.stratified_split(y, seed=4)
    for first, second in zip(a, b):
        np.testing.assert_array_equal(first, second)
    assert not np.array_equal(a[2], c[2])


def test_training_shuffle_is_seeded_and_reshuffles_each_epoch(unique_npz):
    path = unique_npz()
    first = decode_index(collect(data.load(path, seed=1)[0])[0])
    again = decode_index(collect(data.load(path, seed=1)[0])[0])
    np.testing.assert_array_equal(first, again)
    train = data.load(path, seed=1)[0]
    epoch1, epoch2 = (decode_index(collect(train)[0]) for _ in range(2))
    assert not np.array_equal(epoch1, epoch2)
    assert sorted(epoch1) == sorted(epoch2)
    validation = data.load(path, seed=1)[1]
    assert np.all(np.diff(decode_index(collect(validation)[0])) > 0)  # evaluation order is fixed


def test_kfold_every_example_validated_exactly_once(unique_npz):
    folds = data.kfold(unique_npz(), k=4, batch_size=32)
    assert len(folds) == 4 and folds.info.num_classes == 3
    seen = []
    for train, validation in folds:
        train_ids = decode_index(collect(train)[0])
        val_ids = decode_index(collect(validation)[0])
        assert not set(train_ids) & set(val_ids)
        assert len(train_ids) + len(val_ids) == 300
        np.testing.assert_array_equal(np.bincount(val_ids // 100), [25, 25, 25])
        seen.append(val_ids)
    np.testing.assert_array_equal(np.sort(np.concatenate(seen)), np.arange(300))


def test_npz_uint8_scaled_and_class_names_kept(unique_npz):
    path = unique_npz(classes=np.array(["a", "b", "c"]))
    arrays = data.load_arrays(path)
    assert arrays.class_names == ["a", "b", "c"]
    assert arrays.x.dtype == np.float32 and arrays.x.max() <= 1.0


def test_npz_tabular_features(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "tab.npz"
    np.savez(path, x=rng.normal(size=(90, 5)), y=np.repeat([0, 1, 2], 30))
    train, _, _, info = data.load(str(path))
    assert info.input_shape == (5,)
    assert next(iter(train))[0].shape[1:] == (5,)


def test_image_folder(image_folder):
    train, validation, test, info = data.load(str(image_folder), split=(0.5, 0.25, 0.25))
    assert info.class_names == ["cat", "dog", "fox"]
    assert info.input_shape == (10, 12, 3)  # the images' own size
    assert sum(info.split_sizes.values()) == 36
    x, y = collect(test)
    assert np.bincount(y).tolist() == [3, 3, 3] and 0.0 <= x.min() and x.max() <= 1.0


def test_image_folder_given_as_data_dir_with_resize(image_folder):
    _, _, _, info = data.load(None, data_dir=str(image_folder), image_size=8)
    assert info.input_shape == (8, 8, 3)


def test_augment_runs_on_training_batches_only():
    calls = []

    def tag(images):
        calls.append(images.shape.rank)  # traced once per dataset map
        return images * 0.0

    class Mixer:
        mixes_labels = True

        def __call__(self, images, labels):
            return images + 1.0, tf.one_hot(labels, 10)

    train, validation, _, _ = data.load("digits", batch_size=8, augment=[tag, Mixer()])
    images, labels = next(iter(train))
    assert calls == [4]  # applied after batch: it saw rank-4 batches
    np.testing.assert_array_equal(images.numpy(), 1.0)
    assert labels.shape == (8, 10)
    assert collect(validation)[0].max() > 1e-3  # validation untouched


def test_tfds_source_through_tfds_load(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=60, data_dir=str(tmp_path)):
        train, validation, test, info = data.load("mnist", split=(0.5, 0.25, 0.25), batch_size=10)
    assert info.num_classes == 10 and info.input_shape == (28, 28, 1)
    # The mock's 60 examples per split: test kept, validation carved from train (1/3).
    assert info.split_sizes == {"train": 40, "validation": 20, "test": 60}


def test_tfds_offline_fails_fast_with_one_line(tmp_path, offline):
    start = time.time()
    with pytest.raises(ValueError) as error:
        data.load("cifar10", data_dir=str(tmp_path))
    message = str(error.value)
    assert "'cifar10'" in message and "--data-dir" in message and "\n" not in message
    assert time.time() - start < 30


def test_augmented_pipeline_is_repeatable_with_a_seed():
    import keras

    from kerasext import layers

    def first_batches():
        keras.utils.set_random_seed(3)
        augment = [layers.Cutout(0.3), keras.layers.RandomFlip("horizontal"),
                   layers.Mixup(alpha=0.4, num_classes=10)]
        train = data.load("digits", batch_size=32, seed=3, augment=augment)[0]
        return [(x.numpy(), y.numpy()) for x, y in train.take(6)]

    for (xa, ya), (xb, yb) in zip(first_batches(), first_batches()):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
