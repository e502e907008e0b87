"""Stratified, seeded, disjoint splits and folds, as index arrays."""

import numpy as np


def stratified_split(labels, fractions=(0.8, 0.1, 0.1), seed=0):
    """Splits example indices into train / validation / test, stratified by class.

    Args:
        labels: integer class ids, shape `(N,)`.
        fractions: `(train, validation, test)`, each > 0, summing to 1.
            Defaults to `(0.8, 0.1, 0.1)`.
        seed: the shuffle seed; the same seed gives the same split. Defaults to `0`.

    Returns:
        Three sorted, disjoint int64 index arrays covering every example once.

    Raises:
        ValueError: if the fractions are not three positive numbers summing to 1, or a
            split would be too small to hold one example of every class.
    """
    from sklearn.model_selection import train_test_split

    fractions = check_fractions(fractions)
    labels = np.asarray(labels)
    index = np.arange(len(labels))
    try:
        rest, test = train_test_split(
            index, test_size=fractions[2], stratify=labels, random_state=seed
        )
        train, validation = train_test_split(
            rest,
            test_size=fractions[1] / (fractions[0] + fractions[1]),
            stratify=labels[rest],
            random_state=seed,
        )
    except ValueError as error:  # sklearn: a split smaller than the number of classes, ...
        raise ValueError(
            f"Cannot split {len(labels)} examples of {len(np.unique(labels))} classes "
            f"stratified into fractions {fractions}: {error}"
        ) from None
    return np.sort(train), np.sort(validation), np.sort(test)


def kfold_indices(labels, k, seed=0):
    """Stratified k-fold: a list of `k` (train, validation) index-array pairs.

    Every example is in exactly one validation fold.

    Raises:
        ValueError: if `k < 2` or `k` exceeds the number of examples of the smallest class.
    """
    from sklearn.model_selection import StratifiedKFold

    labels = np.asarray(labels)
    counts = np.bincount(labels)
    smallest = int(counts[counts > 0].min()) if counts.size else 0
    if not isinstance(k, (int, np.integer)) or k < 2 or k > smallest:
        raise ValueError(
            f"`k` must be an int from 2 to the size of the smallest class ({smallest}). "
            f"Received: k={k!r}"
        )
    folds = StratifiedKFold(n_splits=int(k), shuffle=True, random_state=seed)
    return [(np.sort(a), np.sort(b)) for a, b in folds.split(np.zeros(len(labels)), labels)]


def check_fractions(fractions):
    """Returns `fractions` as a tuple of three floats, or raises a `ValueError`."""
    try:
        values = tuple(float(f) for f in fractions)
    except (TypeError, ValueError):
        raise ValueError(
            f"`split` must be three numbers (train, validation, test). Received: {fractions!r}"
        ) from None
    if len(values) != 3:
        raise ValueError(
            f"`split` must be three fractions (train, validation, test). Received: {fractions!r}"
        )
    if min(values) <= 0:
        names = ("train", "validation", "test")
        empty = [n for n, v in zip(names, values) if v <= 0]
        raise ValueError(
            f"`split` leaves the {' and '.join(empty)} split empty: every fraction must be "
            f"> 0. Received: split={fractions!r}"
        )
    if abs(sum(values) - 1.0) > 1e-6:
        raise ValueError(f"`split` fractions must sum to 1. Received: {fractions!r} (sum {sum(values):g})")
    return values


def carve(labels, fraction, seed=0):
    """Splits indices into (rest, carved), stratified: `fraction` of the examples carved out.

    Raises:
        ValueError: if the carved part would miss a class, or leave the rest empty.
    """
    from sklearn.model_selection import train_test_split

    labels = np.asarray(labels)
    try:
        rest, carved = train_test_split(np.arange(len(labels)), test_size=fraction,
                                        stratify=labels, random_state=seed)
    except ValueError as error:
        raise ValueError(
            f"Cannot carve {fraction:.3g} of {len(labels)} examples of "
            f"{len(np.unique(labels))} classes stratified: {error}"
        ) from None
    return np.sort(rest), np.sort(carved)


def check_fold(fold, pool_labels=None):
    """Returns `fold` as `(i, k)` ints, or raises a `ValueError` naming `fold`.

    With `pool_labels`, `k` must not exceed the smallest class's count among them.
    """
    try:
        i, k = fold
        ok = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (i, k))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"`fold` must be a pair of ints (i, k). Received: fold={fold!r}")
    if k < 2:
        raise ValueError(f"`fold` must have k >= 2. Received: fold={fold!r}")
    if not 0 <= i < k:
        raise ValueError(f"`fold` must have 0 <= i < k. Received: fold={fold!r}")
    if pool_labels is not None:
        counts = np.bincount(pool_labels)
        smallest = int(counts[counts > 0].min()) if counts.size else 0
        if k > smallest:
            raise ValueError(
                f"`fold` must have 2 <= k <= {smallest} (the smallest class's count in the "
                f"train + validation examples). Received: fold={fold!r}"
            )
    return int(i), int(k)


def fold_of(labels, pool, fold, seed=0):
    """`(train, validation)` indices of fold `fold = (i, k)` of a stratified k-fold over `pool`."""
    pool = np.sort(np.asarray(pool, np.int64))
    i, k = check_fold(fold, np.asarray(labels)[pool])
    fold_train, fold_val = kfold_indices(np.asarray(labels)[pool], k, seed)[i]
    return pool[fold_train], pool[fold_val]
