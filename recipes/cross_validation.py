"""Cross-validation: stratified k-fold training of a Keras model (mean ± std) against the
single train/validation split most runs rely on.

The guide says cross-validation, "rotating subsets of data for training and validation",
ensures "robust evaluation without needing a separate test set". This recipe trains the
baseline CNN on each of `k` stratified folds (`kerasext.data.kfold`) from the same initial
weights and reports the validation accuracy of every fold and their mean ± standard
deviation; then it trains on `k` single splits that differ only in their seed, to show how
far one split's estimate moves, and compares the spread of a single-split estimate with the
standard error of the k-fold mean.

Run (defaults: digits, 5 folds + 5 single splits x 10 epochs, about a minute on 2 cores):

    python recipes/cross_validation.py
    python recipes/cross_validation.py --folds 10 --epochs 15
    python recipes/cross_validation.py --dataset ../shared/data/cifar10_test.npz --folds 3

It writes the runner's files for the seed-0 single split's model, `comparison.md` and
records every fold's numbers in metrics.json under `results`.
"""

import copy
import functools

import numpy as np

from kerasext import runner  # first: starts TensorFlow without its C++ log lines
import keras
from kerasext import data, models

DEFAULTS = dict(epochs=10, batch_size=64)
FOLDS = 5
CLAIM = "cross-validation gives a robust evaluation without a separate test set"


def build_parser():
    parser = runner.make_parser("cross_validation", __doc__, **DEFAULTS)
    group = parser.add_argument_group("cross-validation")
    group.add_argument("--folds", type=int, default=FOLDS, help="k, the number of folds (>= 2)")
    group.add_argument("--learning-rate", type=float, default=1e-3, help="Adam's learning rate")
    return parser


def check_args(args):
    if args.folds < 2:
        raise ValueError(f"`--folds` must be >= 2. Received: {args.folds}")
    if not args.learning_rate > 0:
        raise ValueError(f"`--learning-rate` must be > 0. Received: {args.learning_rate}")


def kfold(args):
    """Stratified k-fold pipelines over the whole data set (`kerasext.data.kfold`)."""
    return data.kfold(args.dataset, k=args.folds, batch_size=args.batch_size, seed=args.seed,
                      image_size=args.image_size, channels=args.channels, data_dir=args.data_dir)


def fold_data(args, augment=None, *, index):
    """Fold `index`: train on the other folds, validate on it; no test split."""
    train, validation = list(kfold(args))[index]
    return train, validation, None, None


def single_split(args, augment=None, *, seed):
    """The runner's train / validation / test split drawn with another seed."""
    split_args = copy.copy(args)
    split_args.seed = seed  # only the split (and shuffle) seed changes
    return runner.load_data(split_args)


def make_model(args, info):
    """The baseline CNN; seeded, so every fold and split starts from the same weights."""
    return models.build_model("cnn", info.input_shape, info.num_classes, seed=args.seed)


def variants(args):
    """name -> the variant: its data (a fold, or a split seed); the model and Adam do not change."""
    adam = functools.partial(keras.optimizers.Adam, args.learning_rate)
    folds = {f"fold {i + 1}": runner.Variant(optimizer=adam, data=functools.partial(fold_data, index=i))
             for i in range(args.folds)}
    splits = {f"single split, seed {s}": runner.Variant(optimizer=adam, data=functools.partial(single_split, seed=s))
              for s in range(args.folds)}
    return {**folds, **splits}


def comparison(args, info, argv, results, fold_info):
    """The table: every fold, the k-fold mean ± std, every single split; what they say about the claim."""
    table = runner.Comparison(
        f"{args.folds}-fold cross-validation vs single splits on {info.name} (baseline CNN, {args.epochs} epochs)",
        [("val_accuracy", "validation accuracy"), ("test_accuracy", "test accuracy"),
         ("train_examples", "train examples", "d"), ("val_examples", "validation examples", "d")],
        claim=CLAIM, recipe="cross_validation",
        shows="k-fold mean ± std of a Keras model against single train/validation splits",
        command=runner.command_line("cross_validation", argv),
    )
    folds = [name for name in results if name.startswith("fold")]
    splits = [name for name in results if name.startswith("single")]
    for name in folds:
        table.add(name, train_examples=fold_info.split_sizes["train"],
                  val_examples=fold_info.split_sizes["validation"], **results[name].metrics)
    fold_scores = [results[name].metrics["val_accuracy"] for name in folds]
    mean, std = float(np.mean(fold_scores)), float(np.std(fold_scores, ddof=1))
    table.add(f"**{args.folds}-fold mean ± std: {mean:.4f} ± {std:.4f}**", val_accuracy=mean, val_std=std)
    for name in splits:
        table.add(name, train_examples=info.split_sizes["train"], val_examples=info.split_sizes["validation"],
                  **results[name].metrics)
    split_scores = [results[name].metrics["val_accuracy"] for name in splits]
    spread = float(np.std(split_scores, ddof=1))
    standard_error = std / np.sqrt(args.folds)
    table.note(f"Single-split validation accuracy ranged from {min(split_scores):.4f} to "
               f"{max(split_scores):.4f} across {args.folds} seeds (std {spread:.4f}); a fold's "
               f"validation set holds {fold_info.split_sizes['validation']} examples, a single split's "
               f"{info.split_sizes['validation']}.")
    table.check_claim(standard_error < spread, (
        f"the {args.folds}-fold mean is {mean:.4f} ± {std:.4f} (standard error of the mean "
        f"{standard_error:.4f}, every example validated once), while one split's estimate moves "
        f"with its seed by a standard deviation of {spread:.4f}."))
    return table, {"kfold_mean": mean, "kfold_std": std, "single_split_std": spread}


def main(argv=None):
    args = runner.parse_args(build_parser(), argv)
    check_args(args)
    runner.setup(args)

    # Data: k folds over the whole data set, and the runner's single split
    fold_info = kfold(args).info
    train, validation, test, info = runner.load_data(args)

    # Model
    build = functools.partial(make_model, info=info)
    with runner.scope(args):
        probe = build(args)
        probe.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    data.check_targets(probe, train)  # before anything is written

    # Train with and without: every fold, then single splits that differ only in their seed
    run = runner.start_run(args)  # the seed-0 split's model is the run's: checkpointed, resumable
    results = runner.train_variants(args, variants(args), build, run=run, checkpoint="single split, seed 0")

    # Result
    table, summary = comparison(args, info, argv, results, fold_info)
    table.write(run.directory)
    table.print()
    final = results["single split, seed 0"]
    return run.finish(final.model, final.history, test, info, extra={**table.to_dict(), **summary})


if __name__ == "__main__":
    runner.run_cli(main)
