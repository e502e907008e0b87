"""`load` and `kfold`: any source as stratified, seeded train / validation / test pipelines."""

import dataclasses
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from kerasext._validation import check_int
from kerasext.data import cache as cache_lib
from kerasext.data.augment import apply_augmentation, check_augment  # noqa: F401  (re-exported)
from kerasext.data.parts import ArrayPart, ArrayStore, pipeline
from kerasext.data.position import DataPosition, position_of  # noqa: F401  (re-exported)
from kerasext.data.plan import cached, split_parts
from kerasext.data.sources import Arrays, MemorySource, TfdsSource, open_source
from kerasext.data.splits import check_fold, check_fractions, kfold_indices


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
    fold=None,
    cache="auto",
    skip_bad_images=False,
    resplit=False,
    one_hot=False,
):
    """Loads a data set as stratified, seeded, disjoint train / validation / test pipelines.

    Like Keras' `image_dataset_from_directory` and `tfds.load`, folders and TFDS sets are
    read lazily: the pipeline holds a file list (or TFDS' record files) and decodes
    images in a parallel, deterministic map, so memory does not grow with the data set.
    Unlike them, every split is stratified and seeded, training order is a function of
    `(seed, epoch)` (a killed run resumes at the exact batch, see `DataPosition`), and
    augmentation draws are keyed to `(seed, epoch, batch)`. Digits and `.npz` files are
    held in memory.

    TFDS split policy: the official `test` split is the test split and the official
    `validation` split (if any) the validation split; otherwise `split` carves validation
    from `train`, stratified, in the ratio `validation / (train + validation)`. A set
    without a `test` split, or `resplit=True`, pools every official split and splits it
    by `split`.

    Args:
        source: `"digits"` (the embedded default), a TFDS name, a path to an `.npz` with
            `x` and `y`, a folder of class subfolders (local or `gs://`), or `None` with
            `data_dir` set to such a folder. See `load_arrays`.
        split: `(train, validation, test)` fractions, each > 0, summing to 1.
            Defaults to `(0.8, 0.1, 0.1)`.
        batch_size: examples per batch. Defaults to `32`.
        seed: seeds the split, the folds, the training shuffle and the augmentation draws.
            Defaults to `0`.
        image_size: int or `(height, width)` to resize images to. Defaults to `None`
            (the source's size; a folder's images take the first image's size).
        channels: `1` or `3` to convert grayscale <-> RGB. Defaults to `None`.
        data_dir: TFDS data folder, or the image folder when `source` is `None`.
        augment: a callable or a list of callables applied to training batches only,
            after `batch`. A callable with `mixes_labels = True` (kerasext's Mixup,
            CutMix) is called as `fn(images, labels)` and returns both; any other (Keras'
            `RandomFlip`, kerasext's `Cutout`) is called on the images. Keras layers draw
            from `(seed, epoch, batch)` and run in a parallel map (see
            `kerasext.data.augment`); plain functions run one batch at a time.
        fold: `(i, k)` for fold `i` (0-based) of a stratified k-fold over the train +
            validation examples, seeded by `seed`: fold `i` is the validation split, the
            other folds the training split; the test split is the one `fold=None` gives.
            Defaults to `None` (the plain split).
        cache: what happens to decoded images of a folder or TFDS set: `"auto"` keeps
            them in memory when all splits take at most 1 GiB as uint8 (`AUTO_CACHE_BYTES`
            in `kerasext.data.cache`), else decodes every epoch; `"memory"`, `"none"`, or
            a local folder to keep them in memory-mapped `.npy` files. Defaults to `"auto"`.
        skip_bad_images: leave unreadable image files out and log how many, instead of
            raising. Defaults to `False`.
        resplit: for a TFDS set, pool every official split and split it by `split`
            instead of keeping the official test split. Defaults to `False`.
        one_hot: labels as float32 one-hot `(batch, num_classes)` in every split (labels
            a mixer in `augment` made soft are left as they are), for losses that want
            them; the training pipeline keeps its `DataPosition`. Defaults to `False`.

    Returns:
        `Splits(train, validation, test, info)`: datasets of `(images, labels)` batches
        (float32 images, int32 labels, or float32 one-hot with `one_hot`) and a
        `DatasetInfo`.

    Raises:
        ValueError: for bad sources, labels, images or split fractions, `batch_size < 1`,
            a bad `cache`, or a `fold` that is not `(i, k)` with `0 <= i < k` and
            `2 <= k <=` the smallest class's count in the train + validation examples.

    Example:

    >>> train, val, test, info = load("digits", image_size=16, batch_size=64)
    >>> info.num_classes, info.input_shape
    (10, (16, 16, 1))
    """
    _check_batch_size(batch_size)
    fractions = check_fractions(split)
    cache = cache_lib.check_cache(cache)
    check_augment(augment)
    check_flags(skip_bad_images=skip_bad_images, resplit=resplit, one_hot=one_hot)
    if fold is not None:
        check_fold(fold)
    found = open_source(source, data_dir, image_size, channels, skip_bad_images)
    parts = cached(found, split_parts(found, fractions, seed, fold, resplit), cache, data_dir)
    name = found.name if fold is None else f"{found.name} (fold {fold[0] + 1} of {fold[1]})"
    info = DatasetInfo(
        name=name,
        num_classes=len(found.class_names),
        class_names=list(found.class_names),
        input_shape=tuple(found.input_shape),
        split_sizes={key: int(parts[key].size) for key in ("train", "validation", "test")},
    )
    classes = info.num_classes if one_hot else None
    return Splits(
        pipeline(parts["train"], batch_size, shuffle=True, seed=seed, augment=augment,
                 one_hot=classes),
        pipeline(parts["validation"], batch_size, one_hot=classes),
        pipeline(parts["test"], batch_size, one_hot=classes),
        info,
    )


class KFold:
    """Stratified k-fold pipelines: iterate for `(train, validation)` pairs; `info` describes the data."""

    def __init__(self, source, k, batch_size, seed, augment, cache="auto", data_dir=None):
        if isinstance(source, Arrays):
            source = MemorySource(source.x, source.y, source.class_names, source.name)
        whole = source.whole() if isinstance(source, TfdsSource) else source.part(np.arange(len(source.y)))
        if not isinstance(source, MemorySource):
            mode = cache_lib.resolve(cache, source.nbytes(whole.size))
            whole = cache_lib.keep({"all": whole}, mode, f"{source.name}|{data_dir}")["all"]
        self._whole = whole
        self._folds = kfold_indices(whole.labels, k, seed)
        self._batch_size = batch_size
        self._seed = seed
        self._augment = augment
        self.info = DatasetInfo(
            name=source.name,
            num_classes=len(source.class_names),
            class_names=list(source.class_names),
            input_shape=tuple(source.input_shape),
            split_sizes={"train": len(self._folds[0][0]), "validation": len(self._folds[0][1])},
        )

    def __len__(self):
        return len(self._folds)

    def __iter__(self):
        for train_idx, val_idx in self._folds:
            yield (
                pipeline(_subset(self._whole, train_idx), self._batch_size, shuffle=True,
                         seed=self._seed, augment=self._augment),
                pipeline(_subset(self._whole, val_idx), self._batch_size),
            )


def _subset(part, index):
    """The examples `index` (positions in `part`) of a part, as a part of the same kind."""
    if isinstance(part, ArrayPart):
        return ArrayPart(part.store, part.index[index])
    if hasattr(part, "paths"):
        return type(part)(part.paths[index], part.labels[index], part.format)
    return type(part)(part.set, part.expression, part.format, index=part.index[index],
                      labels=part.labels[index])


def kfold(source="digits", k=5, *, batch_size=32, seed=0, image_size=None, channels=None,
          data_dir=None, augment=None, cache="auto", skip_bad_images=False):
    """Stratified k-fold cross-validation pipelines over a whole data set.

    Keras Tuner and `model.fit` have no k-fold; scikit-learn's `StratifiedKFold` gives the
    indices (over a folder's file list: no image is decoded to split) and this turns them
    into the same pipelines `load` makes. A TFDS set's official splits are pooled.

    Args:
        source, batch_size, seed, image_size, channels, data_dir, augment, cache,
            skip_bad_images: as in `load`.
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
    cache = cache_lib.check_cache(cache)
    check_augment(augment)
    check_flags(skip_bad_images=skip_bad_images)
    found = open_source(source, data_dir, image_size, channels, skip_bad_images)
    return KFold(found, k, batch_size, seed, augment, cache, data_dir)


def make_dataset(x, y, batch_size, *, shuffle=False, seed=0, augment=None):
    """Builds the pipeline over arrays in memory: shuffle, batch, augment (after `batch`), prefetch.

    A shuffled pipeline draws each epoch's order from `(seed, epoch)` alone and can
    start at any `(epoch, batch)`: `position_of(dataset)` returns its `DataPosition`,
    which `kerasext.runner.BackupAndResume` sets so that a resumed run sees exactly the batches it had
    not trained on yet, in the same order, augmented the same way. Left alone, the
    position advances by one epoch each time the dataset is iterated (a fresh order
    each epoch).
    """
    _check_batch_size(batch_size)
    store = ArrayStore(np.asarray(x), np.asarray(y))
    return pipeline(ArrayPart(store, np.arange(len(store.y))), batch_size, shuffle=shuffle,
                    seed=seed, augment=augment)


def check_flags(**flags):
    """Raises a `ValueError` naming the first of `flags` that is not a bool."""
    for name, value in flags.items():
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"`{name}` must be True or False. Received: {name}={value!r}")


def _check_batch_size(batch_size):
    check_int("batch_size", batch_size, 1)
