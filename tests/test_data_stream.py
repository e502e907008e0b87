"""Image folders are streamed: a file list split by folder names, decoded in the pipeline,
the same batches whatever the cache, and an exact resume (augmentation included)."""

import os
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasext import data, layers

CLASSES = ("ant", "bee", "cat")


@pytest.fixture
def jpeg_folder(tmp_path):
    """3 classes x 10 JPEGs of 20x24 px whose mean brightness encodes (class, index)."""
    root = tmp_path / "photos"
    for c, name in enumerate(CLASSES):
        (root / name).mkdir(parents=True)
        for i in range(10):
            value = 20 + 70 * c + 6 * i  # distinct per image, far apart after JPEG and resize
            pixels = np.full((20, 24, 3), value, np.uint8)
            tf.io.write_file(str(root / name / f"{i:02d}.jpg"), tf.io.encode_jpeg(pixels, quality=95))
    return root


def image_ids(images):
    """(class, index) of `jpeg_folder` images, back from their brightness."""
    value = np.rint(np.asarray(images).mean(axis=(1, 2, 3)) * 255)
    c = np.floor((value - 20 + 3) / 70).astype(int)
    return c * 10 + np.rint((value - 20 - 70 * c) / 6).astype(int)


def batches(dataset, count=None):
    return [(x.numpy(), y.numpy()) for x, y in (dataset.take(count) if count else dataset)]


def assert_same(a, b):
    assert len(a) == len(b)
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_folder_splits_are_stratified_disjoint_and_keep_labels(jpeg_folder):
    train, validation, test, info = data.load(str(jpeg_folder), split=(0.6, 0.2, 0.2),
                                              batch_size=4, image_size=16, cache="none")
    assert info.class_names == list(CLASSES) and info.input_shape == (16, 16, 3)
    assert info.split_sizes == {"train": 18, "validation": 6, "test": 6}
    seen = []
    for dataset in (train, validation, test):
        x, y = (np.concatenate(v) for v in zip(*batches(dataset)))
        assert x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
        ids = image_ids(x)
        np.testing.assert_array_equal(ids // 10, y)  # labels from the folder names
        assert np.bincount(y).tolist() == [len(y) // 3] * 3
        seen.append(ids)
    assert sorted(np.concatenate(seen)) == list(range(30))


def test_files_are_read_lazily_not_at_load(jpeg_folder, tmp_path):
    train, _, _, info = data.load(str(jpeg_folder), image_size=16, cache="none")
    moved = tmp_path / "moved"
    shutil.move(str(jpeg_folder), moved)  # load kept a file list, no pixels
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Cannot read image .*photos.*\.jpg: "):
        next(iter(train))  # named: the first file of the epoch's order
    shutil.move(str(moved), jpeg_folder)
    assert next(iter(train))[0].shape == (24, 16, 16, 3)  # the 24 training images, batch 32


def test_splitting_decodes_no_image(jpeg_folder, monkeypatch):
    calls = []
    decode = tf.io.decode_image

    def counting(*args, **kwargs):
        calls.append(1)
        return decode(*args, **kwargs)

    monkeypatch.setattr(tf.io, "decode_image", counting)
    data.load(str(jpeg_folder), image_size=16, cache="none", fold=(0, 3))
    data.kfold(str(jpeg_folder), k=3, image_size=16, cache="none")
    assert len(calls) <= 6  # traced once per pipeline, never once per image


def test_default_size_is_the_first_images(jpeg_folder):
    _, _, _, info = data.load(None, data_dir=str(jpeg_folder))
    assert info.input_shape == (20, 24, 3)
    _, _, test, info = data.load(str(jpeg_folder), channels=1, image_size=(10, 12))
    assert info.input_shape == (10, 12, 1) and next(iter(test))[0].shape[1:] == (10, 12, 1)


def augmentation():
    return [keras.layers.RandomFlip("horizontal"), keras.layers.RandomTranslation(0.2, 0.2),
            layers.Cutout(0.3), layers.Mixup(alpha=0.4, num_classes=3)]


@pytest.mark.parametrize("cache", ["none", "memory", "folder"])
def test_every_cache_gives_the_same_batches_and_resumes_exactly(jpeg_folder, tmp_path, cache):
    cache = str(tmp_path / "cache") if cache == "folder" else cache

    def train():
        return data.load(str(jpeg_folder), image_size=16, batch_size=4, seed=5, cache=cache,
                         augment=augmentation())[0]

    reference = data.load(str(jpeg_folder), image_size=16, batch_size=4, seed=5, cache="none",
                          augment=augmentation())[0]
    epochs = [batches(reference) for _ in range(2)]  # 24 examples: 6 batches an epoch
    assert not np.array_equal(epochs[0][0][0], epochs[1][0][0])  # reshuffled, re-augmented
    dataset = train()
    assert_same(batches(dataset), epochs[0])
    resumed = train()  # a fresh process after a kill in epoch 1, batch 4
    data.position_of(resumed).set(1, 4)
    assert_same(batches(resumed, 2), epochs[1][4:])
    if cache not in ("none", "memory"):
        assert any(name.endswith(".npy") for name in os.listdir(cache))
        assert_same(batches(train()), epochs[0])  # a second run reads the cache


def test_augmented_batches_depend_on_seed_epoch_and_batch_only(jpeg_folder):
    # The layers' own generators never advance: building the pipeline twice, or running
    # the layers elsewhere in between, changes nothing.
    augment = augmentation()
    a = batches(data.load(str(jpeg_folder), image_size=16, batch_size=4, augment=augment)[0])
    augment[0](np.zeros((2, 16, 16, 3), np.float32))  # the layer's own state moves on
    b = batches(data.load(str(jpeg_folder), image_size=16, batch_size=4, augment=augment)[0])
    assert_same(a, b)
    c = batches(data.load(str(jpeg_folder), image_size=16, batch_size=4, seed=1, augment=augment)[0])
    assert not np.array_equal(a[0][0], c[0][0])


def test_kfold_over_a_file_list(jpeg_folder):
    folds = data.kfold(str(jpeg_folder), k=3, batch_size=8, image_size=16, cache="none")
    seen = []
    for train, validation in folds:
        val_ids = image_ids(np.concatenate([x for x, _ in batches(validation)]))
        train_ids = image_ids(np.concatenate([x for x, _ in batches(train)]))
        assert not set(val_ids) & set(train_ids) and len(val_ids) + len(train_ids) == 30
        seen.append(val_ids)
    assert sorted(np.concatenate(seen)) == list(range(30))


def test_auto_cache_follows_the_size_budget(jpeg_folder, monkeypatch):
    from kerasext.data import cache, parts

    train = data.load(str(jpeg_folder), image_size=16)[0]  # tiny: kept in memory
    monkeypatch.setattr(cache, "AUTO_CACHE_BYTES", 100)
    streamed = data.load(str(jpeg_folder), image_size=16)[0]
    assert_same(batches(train), batches(streamed))
    assert cache.resolve("auto", 100) == "memory" and cache.resolve("auto", 101) == "none"
    assert parts.FilePart.divisor is None  # streamed images are scaled in the decoding map


@pytest.mark.parametrize("bad", ["", 3, None, "gs://bucket/cache"])
def test_bad_cache_names_the_argument(bad):
    with pytest.raises(ValueError, match="`cache` must be"):
        data.load("digits", cache=bad)
