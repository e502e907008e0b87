"""Which examples go to which split, and whether their decoded images are kept."""

import numpy as np

from kerasext.data import cache as cache_lib
from kerasext.data.sources import MemorySource, TfdsSource, open_source
from kerasext.data.splits import carve, check_fold, check_fractions, fold_of, stratified_split


def split_arrays(source="digits", *, split=(0.8, 0.1, 0.1), seed=0, image_size=None,
                 channels=None, data_dir=None, fold=None, skip_bad_images=False, resplit=False):
    """The splits `load` makes, as arrays in memory: same examples, same order as its
    validation and test pipelines (and the training split in index order).

    For code that needs NumPy (class weights, scikit-learn, a custom pipeline) but the
    same split as the recipes that use `load`. Arguments as in `load`.

    Returns:
        `{"train": (x, y), "validation": (x, y), "test": (x, y)}`: float32 images in
        [0, 1] (or float32 features) and int64 labels.

    Example:

    >>> splits = split_arrays("digits", seed=0)
    >>> splits["train"][0].shape, splits["test"][1].shape
    ((1437, 8, 8, 1), (180,))
    """
    fractions = check_fractions(split)
    if fold is not None:
        check_fold(fold)
    found = open_source(source, data_dir, image_size, channels, skip_bad_images)
    parts = cached(found, split_parts(found, fractions, seed, fold, resplit), "memory", data_dir)
    result = {}
    for name, part in parts.items():
        x = part.store.x[part.index]
        if part.divisor is not None:
            x = (x / np.float32(part.divisor)).astype(np.float32)
        result[name] = (x, part.labels.astype(np.int64))
    return result


def split_parts(found, fractions, seed, fold, resplit):
    """`{"train", "validation", "test"}` parts of a source."""
    if not isinstance(found, TfdsSource):
        return _three_way(found.y, fractions, seed, fold, found.part)
    plan = found.plan(resplit)
    if "pool" in plan:
        labels = found.labels(plan["pool"])
        return _three_way(labels, fractions, seed, fold,
                          lambda index: found.part(plan["pool"], index, labels))
    parts = {"test": found.part(plan["test"])}
    if "validation" in plan and fold is None:
        parts.update(train=found.part(plan["train"]), validation=found.part(plan["validation"]))
        return parts
    expression = "+".join(plan[key] for key in ("train", "validation") if key in plan)
    labels = found.labels(expression)
    if fold is not None:
        train, validation = fold_of(labels, np.arange(len(labels)), fold, seed)
    else:
        train, validation = carve(labels, fractions[1] / (fractions[0] + fractions[1]), seed)
    parts.update(train=found.part(expression, train, labels),
                 validation=found.part(expression, validation, labels))
    return parts


def _three_way(labels, fractions, seed, fold, part):
    train, validation, test = stratified_split(labels, fractions, seed)
    if fold is not None:
        train, validation = fold_of(labels, np.concatenate([train, validation]), fold, seed)
    return {"train": part(train), "validation": part(validation), "test": part(test)}


def cached(found, parts, cache, data_dir):
    """The parts, their decoded images kept per `cache` (in-memory sources: as they are)."""
    if isinstance(found, MemorySource):
        return parts
    mode = cache_lib.resolve(cache, found.nbytes(sum(p.size for p in parts.values())))
    return cache_lib.keep(parts, mode, f"{found.name}|{data_dir}")
