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

import numpy as np

import kerasext  # noqa: F401  (first: starts TensorFlow without its C++ log lines)
import keras
from kerasext import data, models, results, runner

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


def main(argv=None):
    args = runner.parse_args(build_parser(), argv)
    check_args(args)
    runner.setup(args)
    folds = data.kfold(args.dataset, k=args.folds, batch_size=args.batch_size, seed=args.seed,
                       image_size=args.image_size, channels=args.channels, data_dir=args.data_dir)
    train, validation, test, info = runner.load_data(args)
    strategy = runner.strategy(args)
    with strategy.scope():
        model = models.build_model("cnn", info.input_shape, info.num_classes, seed=args.seed)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    data.check_targets(model, train)  # before anything is written
    initial_weights = model.get_weights()

    def fit(train, validation, test=None, callbacks=()):
        return results.fit_variant(
            model, train, validation, epochs=args.epochs, initial_weights=initial_weights,
            optimizer=lambda: keras.optimizers.Adam(args.learning_rate), strategy=strategy,
            loss="sparse_categorical_crossentropy", test=test, seed=args.seed, callbacks=callbacks)

    run = runner.start_run(args)
    table = results.Comparison(
        f"{args.folds}-fold cross-validation vs single splits on {info.name} (baseline CNN, {args.epochs} epochs)",
        [("val_accuracy", "validation accuracy"), ("test_accuracy", "test accuracy"),
         ("train_examples", "train examples", "d"), ("val_examples", "validation examples", "d")],
        claim=CLAIM, recipe="cross_validation",
        shows="k-fold mean ± std of a Keras model against single train/validation splits",
        command=results.command_line("cross_validation", argv),
    )
    fold_scores = []
    for index, (fold_train, fold_val) in enumerate(folds):
        result = fit(fold_train, fold_val)
        fold_scores.append(result.metrics["val_accuracy"])
        table.add(f"fold {index + 1}", train_examples=folds.info.split_sizes["train"],
                  val_examples=folds.info.split_sizes["validation"], **result.metrics)
    mean, std = float(np.mean(fold_scores)), float(np.std(fold_scores, ddof=1))
    table.add(f"**{args.folds}-fold mean ± std: {mean:.4f} ± {std:.4f}**", val_accuracy=mean, val_std=std)

    split_scores = []
    for seed in range(args.folds):
        split_args = copy.copy(args)
        split_args.seed = seed  # only the split (and shuffle) seed changes
        split_train, split_val, split_test, _ = runner.load_data(split_args)
        result = fit(split_train, split_val, test=split_test, callbacks=run.callbacks() if seed == 0 else ())
        if seed == 0:
            final_history, final_weights = result.history, model.get_weights()
        split_scores.append(result.metrics["val_accuracy"])
        table.add(f"single split, seed {seed}", train_examples=info.split_sizes["train"],
                  val_examples=info.split_sizes["validation"], **result.metrics)
    spread = float(np.std(split_scores, ddof=1))
    standard_error = std / np.sqrt(args.folds)
    table.note(f"Single-split validation accuracy ranged from {min(split_scores):.4f} to "
               f"{max(split_scores):.4f} across {args.folds} seeds (std {spread:.4f}); a fold's "
               f"validation set holds {folds.info.split_sizes['validation']} examples, a single split's "
               f"{info.split_sizes['validation']}.")
    table.check_claim(standard_error < spread, (
        f"the {args.folds}-fold mean is {mean:.4f} ± {std:.4f} (standard error of the mean "
        f"{standard_error:.4f}, every example validated once), while one split's estimate moves "
        f"with its seed by a standard deviation of {spread:.4f}."))
    table.write(run.directory)
    table.print()
    extra = {**table.to_dict(), "kfold_mean": mean, "kfold_std": std, "single_split_std": spread}
    model.set_weights(final_weights)  # the seed-0 split's model, evaluated on its test split
    return run.finish(model, final_history, test, info, extra=extra)


if __name__ == "__main__":
    runner.run_cli(main)
