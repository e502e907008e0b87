"""K-fold cross-validation inside a trial, for a recipe whose data comes from `runner.load_data`.

Keras Tuner scores a trial on one validation split and has no k-fold for Keras models
(keras-tuner #139). Here a trial runs the recipe once per fold, passing `--fold I/K`: the
held-out test split stays as the recipe's `--split` makes it, and the rest (train +
validation) is cut into `k` stratified folds seeded by the trial's `--seed`
(`kerasext.data.load(..., fold=(i, k))`), the same for every trial.
"""

import numpy as np

from kerasext import data


def fold_flags(index, k):
    """The recipe flags of fold `index` (0-based) of `k`: `["--fold", "<index + 1>/<k>"]`."""
    return ["--fold", f"{index + 1}/{k}"]


def check_cv(k, args):
    """Raises a `ValueError` naming `--cv` unless 2 <= k <= the smallest class of the k-fold pool.

    (`RecipeHyperModel` checks that the recipe has `--fold` at all.)

    Args:
        k: the folds asked for, or `None` (no cross-validation: nothing to check).
        args: the recipe's parsed flags (the data flags say what is cut into folds).
    """
    if k is None:
        return
    arrays = data.load_arrays(args.dataset, data_dir=args.data_dir, image_size=args.image_size,
                              channels=args.channels)
    train, validation, _ = data.stratified_split(arrays.y, args.split, args.seed)
    counts = np.bincount(arrays.y[np.concatenate([train, validation])])
    smallest = int(counts[counts > 0].min())
    if not 2 <= k <= smallest:
        raise ValueError(
            f"`--cv` must be from 2 to the smallest class's count in the train + validation "
            f"examples of {arrays.name} ({smallest}). Received: --cv {k}"
        )
