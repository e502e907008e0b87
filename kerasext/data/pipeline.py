"""`tf.data` pipelines over in-memory splits: cache, shuffle, batch, augment, prefetch."""

import dataclasses
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from kerasext.data.sources import load_arrays
from kerasext.data.splits import kfold_indices, stratified_split


@dataclasses.dataclass
class DatasetInfo:
    """What a model builder needs to know about a loaded data set."""

    name: str
    num_classes: int
    class_names: list
    input_shape: tuple
    split_sizes: dict

    def to_dict(self):
        return dataclasses.asdict(self)


class Splits(NamedTuple):
    """The result of `load`: unpacks as `train, validation, test, info`."""

    train: tf.data.Dataset
    validation: tf.data.Dataset
    test: tf.data.Dataset
    info: DatasetInfo


def load(
    source="digits",
    *,
    split=(0.8, 0.1, 0.1),
    batch_size=32,
    seed=0,
    image_size=None,
    channels=None,
    data_dir=None,
    augment=None,
):
    """Loads a data set as stratified, seeded, disjoint train / validation / test pipelines.

    Keras' `image_dataset_from_directory` and TFDS each split in their own way (a
    validation fraction without stratification, or fixed upstream splits); this gives
    every source the same three-way stratified split and the same pipeline.

    Args:
        source: `"digits"` (the embedded default), a TFDS name, a path to an `.npz` with
            `x` and `y`, a folder of class subfolders, or `None` with `data_dir` set to
            such a folder. See `load_arrays`.
        split: `(train, validation, test)` fractions, each > 0, summing to 1.
            Defaults to `(0.8, 0.1, 0.1)`.
        batch_size: examples per batch. Defaults to `32`.
        seed: seeds the split and the training shuffle. Defaults to `0`.
        image_size: int or `(height, width)` to resize images to. Defaults to `None`.
        channels: `1` or `3` to convert grayscale <-> RGB. Defaults to `None`.
        data_dir: TFDS data folder, or the image folder when `source` is `None`.
        augment: a callable or a list of callables applied to training batches only,
            after `batch`. A callable with `mixes_labels = True` (kerasext's Mixup,
            CutMix) is called as `fn(images, labels)` and returns both; any other (Keras'
            `RandomFlip`, kerasext's `Cutout`) is called on the images.

    Returns:
        `Splits(train, validation, test, info)`: datasets of `(images, labels)` batches
        (float32 images, int32 labels) and a `DatasetInfo`.

    Raises:
        ValueError: for bad sources, labels or split fractions, or `batch_size < 1`.

    Example:

    >>> train, val, test, info = load("digits", image_size=16, batch_size=64)
    >>> info.num_classes, info.input_shape
    (10, (16, 16, 1))
    """
    _check_batch_size(batch_size)
    arrays = load_arrays(source, data_dir=data_dir, image_size=image_size, channels=channels)
    train_idx, val_idx, test_idx = stratified_split(arrays.y, split, seed)
    x, y = arrays.x, arrays.y
    info = DatasetInfo(
        name=arrays.name,
        num_classes=len(arrays.class_names),
        class_names=list(arrays.class_names),
        input_shape=tuple(int(d) for d in x.shape[1:]),
        split_sizes={"train": len(train_idx), "validation": len(val_idx), "test": len(test_idx)},
    )
    return Splits(
        make_dataset(x[train_idx], y[train_idx], batch_size, shuffle=True, seed=seed, augment=augment),
        make_dataset(x[val_idx], y[val_idx], batch_size),
        make_dataset(x[test_idx], y[test_idx], batch_size),
        info,
    )


class KFold:
    """Stratified k-fold pipelines: iterate for `(train, validation)` pairs; `info` describes the data."""

    def __init__(self, arrays, k, batch_size, seed, augment):
        self._arrays = arrays
        self._folds = kfold_indices(arrays.y, k, seed)
        self._batch_size = batch_size
        self._seed = seed
        self._augment = augment
        self.info = DatasetInfo(
            name=arrays.name,
            num_classes=len(arrays.class_names),
            class_names=list(arrays.class_names),
            input_shape=tuple(int(d) for d in arrays.x.shape[1:]),
            split_sizes={"train": len(self._folds[0][0]), "validation": len(self._folds[0][1])},
        )

    def __len__(self):
        return len(self._folds)

    def __iter__(self):
        x, y = self._arrays.x, self._arrays.y
        for train_idx, val_idx in self._folds:
            yield (
                make_dataset(x[train_idx], y[train_idx], self._batch_size, shuffle=True,
                             seed=self._seed, augment=self._augment),
                make_dataset(x[val_idx], y[val_idx], self._batch_size),
            )


def kfold(source="digits", k=5, *, batch_size=32, seed=0, image_size=None, channels=None,
          data_dir=None, augment=None):
    """Stratified k-fold cross-validation pipelines over a whole data set.

    Keras Tuner and `model.fit` have no k-fold; scikit-learn's `StratifiedKFold` gives the
    indices and this turns them into the same pipelines `load` makes.

    Args:
        source, batch_size, seed, image_size, channels, data_dir, augment: as in `load`.
        k: number of folds, from 2 to the size of the smallest class. Defaults to `5`.

    Returns:
        A `KFold`: iterating yields `k` `(train, validation)` dataset pairs, every example
        in exactly one validation fold; `.info` is the `DatasetInfo`.

    Example:

    >>> folds = kfold("digits", k=3)
    >>> len(folds), folds.info.num_classes
    (3, 10)
    """
    _check_batch_size(batch_size)
    arrays = load_arrays(source, data_dir=data_dir, image_size=image_size, channels=channels)
    return KFold(arrays, k, batch_size, seed, augment)


def make_dataset(x, y, batch_size, *, shuffle=False, seed=0, augment=None):
    """Builds the pipeline: cache, shuffle, batch, augment (after `batch`), prefetch.

    A shuffled pipeline draws each epoch's order from `(seed, epoch)` alone and can
    start at any `(epoch, batch)`: `position_of(dataset)` returns its `DataPosition`,
    which `kerasext.callbacks.BackupAndResume` sets so that a resumed run sees exactly
    the batches it had not trained on yet, in the same order. Left alone, the position
    advances by one epoch each time the dataset is iterated (a fresh order each epoch).
    """
    _check_batch_size(batch_size)
    y = np.asarray(y, np.int32)
    if not shuffle:
        dataset = tf.data.Dataset.from_tensor_slices((x, y)).cache().batch(batch_size)
    else:
        position = DataPosition(seed, len(x), batch_size)
        images, labels = tf.constant(x), tf.constant(y)
        dataset = position.index_batches().map(
            lambda index: (tf.gather(images, index), tf.gather(labels, index)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        # A known length lets Keras stop each epoch before asking for one batch too many
        # (with an unknown length, Keras 3.15 counts one optimizer step too many per epoch).
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(position.batches_per_epoch))
    if augment is not None:
        dataset = apply_augmentation(dataset, augment)
    dataset = dataset.prefetch(tf.data.AUTOTUNE)
    if shuffle:
        dataset._kerasext_position = position
    return dataset


def position_of(dataset):
    """The `DataPosition` of a shuffled pipeline from `make_dataset` / `load`, else `None`."""
    return getattr(dataset, "_kerasext_position", None)


class DataPosition:
    """Where a shuffled pipeline starts: an epoch (which fixes the order) and batches to skip.

    The order of epoch `e` is a stateless shuffle seeded by `(seed, e)`, so it is the same
    in every process. The next iteration of the dataset reads `epoch` and `skip` (then
    advances `epoch` by one and resets `skip`); `set(epoch, skip)` before an epoch starts
    makes it replay epoch `epoch` from batch `skip`.
    """

    def __init__(self, seed, size, batch_size):
        self.seed, self.size, self.batch_size = int(seed), int(size), int(batch_size)
        self.batches_per_epoch = -(-self.size // self.batch_size)
        with tf.init_scope():  # plain variables, outside any distribution strategy
            self._epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
            self._skip = tf.Variable(0, dtype=tf.int64, trainable=False)

    def set(self, epoch, skip=0):
        if not 0 <= skip < self.batches_per_epoch:
            raise ValueError(
                f"`skip` must be in [0, {self.batches_per_epoch}). Received: skip={skip}"
            )
        self._epoch.assign(int(epoch))
        self._skip.assign(int(skip))

    def index_batches(self):
        def one_epoch(_):
            epoch = self._epoch.assign_add(1) - 1
            skip = self._skip.read_value()
            with tf.control_dependencies([skip]):
                reset = self._skip.assign(0)
            order = tf.random.experimental.stateless_shuffle(
                tf.range(self.size, dtype=tf.int64),
                seed=tf.stack([tf.constant(self.seed, tf.int64), epoch]),
            )
            with tf.control_dependencies([reset]):
                return tf.data.Dataset.from_tensor_slices(order).batch(self.batch_size).skip(skip)

        return tf.data.Dataset.from_tensors(0).flat_map(one_epoch)


def apply_augmentation(dataset, augment):
    """Maps batch augmentations over a dataset of `(images, labels)` batches.

    Args:
        dataset: a batched `tf.data.Dataset` of `(images, labels)`.
        augment: a callable or list of callables; see `load`.

    Returns:
        The mapped dataset; `model.fit` on it trains on augmented batches.
    """
    steps = list(augment) if isinstance(augment, (list, tuple)) else [augment]
    for step in steps:
        if not callable(step):
            raise ValueError(f"`augment` must be callables. Received: {step!r}")

    def apply(images, labels):
        for step in steps:
            if getattr(step, "mixes_labels", False):
                images, labels = step(images, labels)
            else:
                images = step(images)
        return images, labels

    # One call at a time: the layers draw from random state, and parallel calls would
    # take their draws in a different order on every run (same seed, other results).
    return dataset.map(apply)


def _check_batch_size(batch_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive int. Received: batch_size={batch_size!r}")
