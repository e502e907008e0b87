"""K-fold cross-validation inside a trial, for any recipe that loads its data through the runner.

Keras Tuner scores a trial on one validation split and has no k-fold for Keras models
(keras-tuner #139). Here a trial runs the recipe once per fold: the held-out test split
stays as the recipe's `--split` makes it, and the rest (train + validation) is cut into
`k` stratified folds with `kerasext.data.kfold_indices`, the same for every trial.
"""

import contextlib

import numpy as np

from kerasext import data, runner


def pool_and_test(args):
    """`(arrays, pool, test)`: the data set, the indices k-fold splits, the held-out test indices."""
    arrays = data.load_arrays(args.dataset, data_dir=args.data_dir, image_size=args.image_size,
                              channels=args.channels)
    train, validation, test = data.stratified_split(arrays.y, args.split, args.seed)
    return arrays, np.sort(np.concatenate([train, validation])), test


def check_cv(k, args):
    """Raises a `ValueError` naming `--cv` unless 2 <= k <= the smallest class of the k-fold pool."""
    if k is None:
        return
    arrays, pool, _ = pool_and_test(args)
    counts = np.bincount(arrays.y[pool])
    smallest = int(counts[counts > 0].min())
    if not 2 <= k <= smallest:
        raise ValueError(
            f"`--cv` must be from 2 to the smallest class's count in the train + validation "
            f"examples of {arrays.name} ({smallest}). Received: --cv {k}"
        )


@contextlib.contextmanager
def fold_data(index, k, seed):
    """Within this block, `kerasext.runner.load_data` returns fold `index` of `k`.

    The recipe's `runner.load_data(args)` then gives the fold's train and validation
    pipelines and the usual held-out test split; everything else about the run (flags,
    folder, files) is unchanged. The substitution is undone when the block ends.

    Args:
        index: the fold, from 0 to `k - 1`.
        k: the number of folds.
        seed: seeds the folds (not the split), so every trial of a sweep sees the same folds.
    """
    original = runner.load_data

    def load_fold(args, augment=None):
        arrays, pool, test = pool_and_test(args)
        fold_train, fold_val = data.kfold_indices(arrays.y[pool], k, seed)[index]
        train, validation = pool[fold_train], pool[fold_val]
        x, y = arrays.x, arrays.y
        info = data.DatasetInfo(
            name=f"{arrays.name} (fold {index + 1} of {k})",
            num_classes=len(arrays.class_names),
            class_names=list(arrays.class_names),
            input_shape=tuple(int(d) for d in x.shape[1:]),
            split_sizes={"train": len(train), "validation": len(validation), "test": len(test)},
        )
        return data.Splits(
            data.make_dataset(x[train], y[train], args.batch_size, shuffle=True, seed=args.seed,
                              augment=augment),
            data.make_dataset(x[validation], y[validation], args.batch_size),
            data.make_dataset(x[test], y[test], args.batch_size),
            info,
        )

    runner.load_data = load_fold
    try:
        yield
    finally:
        runner.load_data = original
