"""TFDS sets are read lazily with the official splits kept: a tiny data set built here, offline."""

import numpy as np
import pytest

from kerasext import data

tfds = pytest.importorskip("tensorflow_datasets")

SIZES = {"train": 60, "test": 30}


def identity(split, index):
    """An 8x8 RGB image whose pixels [0, 0] and [0, 1] encode (split, index)."""
    image = np.zeros((8, 8, 3), np.uint8)
    image[0, 0, 0], image[0, 1, 0] = split, index
    return image


def decode_ids(images):
    pixels = np.rint(np.asarray(images) * 255).astype(int)
    return pixels[:, 0, 0, 0] * 1000 + pixels[:, 0, 1, 0]


class KerasextTinyOfficial(tfds.core.GeneratorBasedBuilder):
    """train (60) and test (30), 3 classes; every image identifies itself."""

    VERSION = tfds.core.Version("1.0.0")
    SPLITS = SIZES

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(8, 8, 3)),
                "label": tfds.features.ClassLabel(names=["a", "b", "c"]),
            }),
            supervised_keys=("image", "label"),
        )

    def _split_generators(self, dl_manager):
        return {name: self._generate_examples(number, size)
                for number, (name, size) in enumerate(self.SPLITS.items())}

    def _generate_examples(self, split, size):
        for i in range(size):
            yield i, {"image": identity(split, i), "label": i % 3}


class KerasextTinyValidation(KerasextTinyOfficial):
    """train (45), validation (15) and test (30)."""

    SPLITS = {"train": 45, "validation": 15, "test": 30}


def collect(dataset):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in dataset])
    return decode_ids(np.concatenate(xs)), np.concatenate(ys)


def load(tmp_path, name="kerasext_tiny_official", **kwargs):
    kwargs.setdefault("batch_size", 8)
    return data.load(name, data_dir=str(tmp_path), **kwargs)


def test_official_test_kept_and_validation_carved_from_train(tmp_path, offline):
    train, validation, test, info = load(tmp_path, cache="none", split=(0.6, 0.2, 0.2))
    assert info.class_names == ["a", "b", "c"] and info.input_shape == (8, 8, 3)
    assert info.split_sizes == {"train": 45, "validation": 15, "test": 30}  # 0.2 / 0.8 of train
    test_ids, test_labels = collect(test)
    assert sorted(test_ids) == list(1000 + np.arange(30))  # the official test split
    np.testing.assert_array_equal(test_labels, test_ids % 1000 % 3)
    np.testing.assert_array_equal(collect(load(tmp_path, cache="none")[2])[0], test_ids)  # fixed order
    train_ids, train_labels = collect(train)
    val_ids, val_labels = collect(validation)
    assert sorted(np.concatenate([train_ids, val_ids])) == list(range(60))
    np.testing.assert_array_equal(train_ids % 3, train_labels)
    assert np.bincount(val_labels).tolist() == [5, 5, 5]  # stratified


def test_official_validation_is_used_when_there_is_one(tmp_path, offline):
    _, validation, test, info = load(tmp_path, "kerasext_tiny_validation", cache="none")
    assert info.split_sizes == {"train": 45, "validation": 15, "test": 30}
    assert sorted(collect(validation)[0]) == list(1000 + np.arange(15))
    assert sorted(collect(test)[0]) == list(2000 + np.arange(30))


def test_resplit_pools_every_split(tmp_path, offline):
    train, validation, test, info = load(tmp_path, resplit=True, split=(0.6, 0.2, 0.2))
    assert info.split_sizes == {"train": 54, "validation": 18, "test": 18}
    ids = np.concatenate([collect(d)[0] for d in (train, validation, test)])
    assert len(set(ids)) == 90


def test_folds_partition_the_train_split_and_keep_the_test(tmp_path, offline):
    seen = []
    for i in range(3):
        train, validation, test, info = load(tmp_path, fold=(i, 3), cache="none")
        assert info.name == f"kerasext_tiny_official (fold {i + 1} of 3)"
        assert sorted(collect(test)[0]) == list(1000 + np.arange(30))
        val_ids = collect(validation)[0]
        assert not set(val_ids) & set(collect(train)[0])
        seen.append(val_ids)
    assert sorted(np.concatenate(seen)) == list(range(60))


def test_streamed_training_order_is_seeded_and_resumes_exactly(tmp_path, offline):
    train = load(tmp_path, cache="none", seed=2)[0]
    epochs = [[(x.numpy(), y.numpy()) for x, y in train] for _ in range(2)]
    first, second = (decode_ids(np.concatenate([x for x, _ in e])) for e in epochs)
    assert sorted(first) == sorted(second) and not np.array_equal(first, second)
    again = load(tmp_path, cache="none", seed=2)[0]
    data.position_of(again).set(1, 2)
    resumed = [(x.numpy(), y.numpy()) for x, y in again.take(len(epochs[1]) - 2)]
    for (xa, ya), (xb, yb) in zip(resumed, epochs[1][2:]):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_cached_in_memory_gives_the_same_evaluation_batches(tmp_path, offline):
    _, validation, test, _ = load(tmp_path, cache="none")
    _, cached_validation, cached_test, _ = load(tmp_path, cache="memory")
    for a, b in ((validation, cached_validation), (test, cached_test)):
        for (xa, ya), (xb, yb) in zip(a, b):
            np.testing.assert_array_equal(xa.numpy(), xb.numpy())
            np.testing.assert_array_equal(ya.numpy(), yb.numpy())


def test_load_arrays_pools_every_split(tmp_path, offline):
    arrays = data.load_arrays("kerasext_tiny_official", data_dir=str(tmp_path))
    assert arrays.x.shape == (90, 8, 8, 3) and arrays.x.dtype == np.float32
    assert sorted(decode_ids(arrays.x)) == sorted([*range(60), *(1000 + np.arange(30))])
