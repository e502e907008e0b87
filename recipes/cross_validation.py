"""Cross-validation: is a k-fold estimate of a Keras model's accuracy closer to the truth than a
single train/validation split's? Both checked against a large held-out set neither sees.

The guide says cross-validation, "rotating subsets of data for training and validation",
ensures "robust evaluation without needing a separate test set". That is a claim about an
estimate: with only a development set, k-fold estimates how well the model trained on all of it
will do more reliably than one train/validation split. This recipe measures it against the
truth. It holds out most of the data (`--holdout`, default 75% of digits: 1348 examples) and
per seed, on the remaining development set (449 digits):

- the single split: train on 4/5, validate on 1/5 (fold 1 of the k folds: one stratified
  split); its validation accuracy is the estimate;
- k-fold: the model of every fold; the estimate is the mean of the k validation accuracies;
- the truth: the model trained on the whole development set (the model one ships after
  estimating), its accuracy on the held-out set.

Every model of a seed starts from the same initial weights. Each estimate's error is
|estimate − truth|; the claim is judged by the paired per-seed difference of the errors,
k-fold minus single split, over `--seeds` (default 6: another held-out set, other folds,
other weights per seed): agrees when its 95% CI lies below zero, disagrees when above,
inconclusive when it holds zero; the verdict states the smallest effect the seeds detect.
The truth is one trained model, so its training noise (which no estimate can see) is part
of every error: few seeds resolve only large differences (`--seeds 20` for a finer one).

Run (defaults: digits, 6 seeds x (5 folds + 1 whole development set) x 10 epochs, about
3 minutes on 2 cores: 36 trainings at about 5 CPU-seconds each, measured):

    python recipes/cross_validation.py
    python recipes/cross_validation.py --seeds 20 --epochs 20     # finer: about 15 minutes
    python recipes/cross_validation.py --dataset ../shared/data/cifar10_test.npz --holdout 0.5 --folds 3

It writes the runner's files for the first seed's model trained on the whole development set
(its test split is the held-out set), `comparison.md`, and records every fold's numbers per seed
in metrics.json under `results`.
"""

import functools

import numpy as np

from kerasext import runner  # first: starts TensorFlow without its C++ log lines
import keras
from kerasext import data, models
from kerasext.data.splits import carve

DEFAULTS = dict(epochs=10, batch_size=32, seeds=6)
FOLDS, HOLDOUT = 5, 0.75
EVAL_BATCH = 512  # validation and held-out sets are only measured: larger batches, same accuracy
ALL = "all development data"  # the variant whose held-out accuracy is the truth
CLAIM = "cross-validation gives a robust evaluation without a separate test set"


def build_parser():
    parser = runner.make_parser("cross_validation", __doc__, comparison=True, **DEFAULTS)
    group = parser.add_argument_group("cross-validation")
    group.add_argument("--width", type=runner.flags.width, default=32,
                       help="filters of the CNN's first block, doubled each block (default 32)")
    group.add_argument("--folds", type=int, default=FOLDS, help="k, the number of folds (>= 2)")
    group.add_argument("--holdout", type=float, default=HOLDOUT,
                       help="fraction of the data held out as the truth, seen by no estimate")
    group.add_argument("--learning-rate", type=float, default=1e-3, help="Adam's learning rate")
    return parser


def check_args(args):
    if args.folds < 2:
        raise ValueError(f"`--folds` must be >= 2. Received: {args.folds}")
    if not 0.0 < args.holdout < 1.0:
        raise ValueError(f"`--holdout` must be in (0, 1). Received: {args.holdout}")
    if not args.learning_rate > 0:
        raise ValueError(f"`--learning-rate` must be > 0. Received: {args.learning_rate}")
    if tuple(args.split) != (0.8, 0.1, 0.1):
        raise ValueError("`--split` is not used here: `--holdout` sets the held-out fraction and the folds "
                         f"the validation sets. Received: --split {','.join(f'{v:g}' for v in args.split)}")


# Data: a large held-out set (the truth), and k folds of the small development set


@functools.lru_cache(maxsize=2)
def _arrays(dataset, data_dir, image_size, channels):
    return data.load_arrays(dataset, data_dir=data_dir, image_size=image_size, channels=channels)


def arrays(args):
    """The whole data set as arrays (read once per process)."""
    return _arrays(args.dataset, args.data_dir, args.image_size, args.channels)


def split(args):
    """This seed's `(development, held_out, folds)`: stratified index arrays into `arrays(args)`;
    `folds` is `--folds` `(train, validation)` pairs of indices into the whole data set.

    Raises:
        ValueError: naming `--holdout` or `--folds` when the data cannot be split so.
    """
    y = arrays(args).y
    try:
        development, held_out = carve(y, args.holdout, seed=args.seed)
    except ValueError as error:
        raise ValueError(f"`--holdout` {args.holdout:g}: {error}") from None
    counts = np.bincount(y[development])
    smallest = int(counts[counts > 0].min())
    if args.folds > smallest:
        raise ValueError(f"`--folds` {args.folds}: `fold` must have 2 <= k <= {smallest} (the smallest class's "
                         f"count in the {len(development)} development examples). Received: {args.folds}")
    folds = data.kfold_indices(y[development], args.folds, seed=args.seed)
    return development, held_out, [(development[t], development[v]) for t, v in folds]


def info(args):
    """The `DatasetInfo` of the first seed's split: train is the development set, test the held-out set."""
    whole = arrays(args)
    development, held_out, _ = split(args)
    return data.DatasetInfo(
        name=f"{whole.name} ({len(development)} development, {len(held_out)} held out)",
        num_classes=len(whole.class_names), class_names=list(whole.class_names),
        input_shape=tuple(whole.x.shape[1:]),
        split_sizes={"train": len(development), "validation": 0, "test": len(held_out)})


def fold_data(args, augment=None, *, fold=None):
    """Train on fold `fold`'s training part and validate on its validation part (0-based), or with
    `fold=None` train on the whole development set without validation; the test split is always
    the held-out set (`Variant.data`)."""
    whole = arrays(args)
    development, held_out, folds = split(args)
    train, validation = (development, None) if fold is None else folds[fold]
    measure = functools.partial(data.make_dataset, batch_size=max(args.batch_size, EVAL_BATCH))
    return (data.make_dataset(whole.x[train], whole.y[train], args.batch_size, shuffle=True, seed=args.seed,
                              augment=augment),
            None if validation is None else measure(whole.x[validation], whole.y[validation]),
            measure(whole.x[held_out], whole.y[held_out]), None)


# Model


def make_model(args, num_classes, input_shape):
    """The baseline CNN; seeded, so every fold and the whole development set start from the same weights."""
    return models.build_model("cnn", input_shape, num_classes, width=args.width, seed=args.seed)


# Train with and without


def variants(args):
    """name -> the variant: its data (a fold, or the whole development set); the model and Adam do not change."""
    adam = functools.partial(keras.optimizers.Adam, args.learning_rate)
    folds = {f"fold {i + 1}": runner.Variant(optimizer=adam, data=functools.partial(fold_data, fold=i))
             for i in range(args.folds)}
    return {**folds, ALL: runner.Variant(optimizer=adam, data=fold_data)}


def estimates(fold_accuracies, fold_held_out, truth):
    """One seed's two estimates against the truth: `{name: metrics}` for "single split" (fold 1
    alone) and "k-fold" (the mean over the folds); `error` is estimate − truth."""
    single = {"estimate": fold_accuracies[0], "models_held_out": fold_held_out[0]}
    kfold = {"estimate": float(np.mean(fold_accuracies)), "models_held_out": float(np.mean(fold_held_out))}
    for row in (single, kfold):
        row.update(truth=truth, error=row["estimate"] - truth, absolute_error=abs(row["estimate"] - truth))
    return {"single split": single, "k-fold": kfold}


# Result


def comparison(args, argv, results, dataset_info):
    """The table: each estimate, the truth and the error (mean ± 95% CI over the seeds), the paired
    difference of the absolute errors, and the claim judged."""
    folds = [name for name in results.runs if name.startswith("fold")]
    kfold, single = f"{args.folds}-fold cross-validation", "single split"
    per_seed = []
    for i in range(len(results.seeds)):
        accuracies = [results.metrics(name)[i]["val_accuracy"] for name in folds]
        held_out = [results.metrics(name)[i]["test_accuracy"] for name in folds]
        per_seed.append(estimates(accuracies, held_out, results.metrics(ALL)[i]["test_accuracy"]))
    table = runner.Comparison(
        f"{kfold} vs a single split on {dataset_info.name}: each estimate against the truth "
        f"(baseline CNN, {args.epochs} epochs)",
        [("estimate", "estimate (validation accuracy)"), ("truth", "truth (held-out accuracy)"),
         ("error", "estimate − truth"), ("absolute_error", "absolute error"),
         ("models_held_out", "its models' held-out accuracy")],
        claim=CLAIM, recipe="cross_validation", seeds=results.seeds,
        shows="the error of a k-fold estimate of a Keras model's accuracy vs a single split's, against "
        "a large held-out set",
        command=runner.command_line("cross_validation", argv),
    )
    table.add_seeds(single, [seed["single split"] for seed in per_seed])
    table.add_seeds(kfold, [seed["k-fold"] for seed in per_seed])
    table.add_effect("absolute_error", single, header="absolute error − single split")
    development, held_out, fold_indices = split(args)
    table.note(f"Per seed, {len(held_out)} examples are held out and {len(development)} form the development "
               f"set. The truth is the held-out accuracy of the model trained on all {len(development)} "
               "development examples (no validation set). The single split's estimate is fold 1's "
               f"validation accuracy (trained on {len(fold_indices[0][0])}, validated on "
               f"{len(fold_indices[0][1])}, first seed); the {kfold} estimate is the mean of the "
               f"{args.folds} folds' (every development example validated once). \"Its models' held-out "
               "accuracy\" is what the estimating models themselves score on the held-out set: trained on "
               "less data, they tend to sit below the truth.")
    bias = {name: _signed(runner.stats.mean_interval(table.values(name, "error"))) for name in (single, kfold)}
    table.note(f"Mean estimate − truth: single split {bias[single]}, {kfold} {bias[kfold]}: the estimates' "
               "bias, their models training on "
               f"{len(fold_indices[0][0])} of the {len(development)} development examples. Averaging the folds "
               "narrows an estimate's spread, not its bias.")
    spread = {name: _std(table.values(name, "estimate")) for name in (single, kfold)}
    table.note(f"Standard deviation over the seeds of the estimate: single split {spread[single]:.4f}, "
               f"{kfold} {spread[kfold]:.4f}; of the truth: {_std(table.values(kfold, 'truth')):.4f}.")
    table.judge("absolute_error", single, kfold, direction=-1,
                label=f"absolute error of the estimate, {kfold} − single split")
    folds_record = {name: {key: [m[key] for m in results.metrics(name)] for key in ("val_accuracy", "test_accuracy")}
                    for name in [*folds, ALL]}
    validation_sizes = [[len(v) for _, v in split(runner.with_seed(args, seed))[2]] for seed in results.seeds]
    summary = {"folds": folds_record, "development_examples": len(development), "held_out_examples": len(held_out),
               "validation_examples": validation_sizes,
               "estimate_std": {single: spread[single], "k-fold": spread[kfold]}}
    return table, summary


def _signed(interval):
    """`"+0.0123 ± 0.0045"` (a mean and the half-width of its 95% CI), or the mean alone for one seed."""
    if interval.n < 2:
        return f"{interval.mean:+.4f}"
    return f"{interval.mean:+.4f} ± {interval.half_width:.4f}"


def _std(values):
    return float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")


def main(argv=None):
    args = runner.parse_args(build_parser(), argv)
    check_args(args)
    runner.setup(args)

    # Data: per seed, a held-out set (the truth) and k folds of the development set
    dataset_info = info(args)  # a --holdout or --folds the data cannot have fails here, before any file
    train, _, test, _ = fold_data(args)

    # Model
    build = functools.partial(make_model, num_classes=dataset_info.num_classes,
                              input_shape=dataset_info.input_shape)
    with runner.scope(args):
        probe = build(args)
        probe.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    data.check_targets(probe, train)  # before anything is written

    # Train with and without: per seed, every fold, then the whole development set
    run = runner.start_run(args)  # the first seed's whole-development model is the run's: checkpointed
    results = runner.train_seeds(args, variants, build, run=run, checkpoint=ALL)

    # Result
    table, summary = comparison(args, argv, results, dataset_info)
    table.write(run.directory)
    table.print()
    final = results.first[ALL]
    return run.finish(final.model, final.history, test, dataset_info, extra={**table.to_dict(), **summary})


if __name__ == "__main__":
    runner.run_cli(main)
