"""Losses, two claims judged apart: focal loss vs cross-entropy on imbalanced classes, and Huber
vs MSE on regression with outliers (with the guide's custom loss beside them).

The guide says focal loss "reduces the weight of easy examples" and, with cross-entropy,
"works best, especially with imbalanced datasets"; that MSE is "sensitive to outliers" and
Huber "robust to outliers"; and shows a custom loss, `mean(|output - target|)`. This recipe:

1. cuts some digit classes to 5% of their training examples, then trains the baseline CNN
   with cross-entropy, cross-entropy with balanced class weights, focal loss
   (`kerasext.losses.FocalLoss`) and focal loss with class weights, from the same weights,
   and reports test accuracy, balanced accuracy and the recall of the cut classes. That
   recall is counted on every example of the cut classes no model trained on: the test
   split's and the 95% of their training examples the cut removed (780 digits a seed,
   not the test split's 90), and the recipe states the smallest difference that size resolves;
2. fits a line to data where 10% of the training targets are gross outliers, with MSE,
   Huber and the guide's custom loss (a plain function), and reports each fitted slope and
   intercept against the truth and the error on clean test data.

Both run once per seed (`--seeds`, default 5: another split, cut and weights; another noisy
line); cells are the mean ± 95% CI over the seeds. Each claim gets its own verdict (no AND):
focal minus cross-entropy in recall of the cut classes, Huber minus MSE in clean test error,
each with the smallest effect its seeds detect 80% of the time. Which few examples of a cut
class are kept moves its recall by more than the test set's sampling does (measured: the
seeds' detectable effect 0.25 at 3 seeds against 0.07 for one seed's 780 examples), hence 5
seeds rather than the protocol's 3.

Run (defaults: digits, 5 seeds x (4 + 3) variants, about 3 minutes on 2 cores: 35 CPU-seconds
a seed, measured):

    python recipes/losses.py
    python recipes/losses.py --minority-classes 0,1,2,3,4 --keep-fraction 0.1 --focal-gamma 3
    python recipes/losses.py --dataset ../shared/data/cifar10_test.npz --epochs 20

It writes the runner's files for the first seed's last classification variant,
`comparison.md` (both tables, each with its verdict) and records both in metrics.json under
`results` (the regression under `regression`, each claim's verdict under `verdicts`, the
minimum detectable effects under `minimum_detectable_effect`).
"""

import functools

import numpy as np
from scipy import stats as scipy_stats

from kerasext import runner  # first: starts TensorFlow without its C++ log lines
import tensorflow as tf
import keras
from kerasext import data, losses, models
from recipes import _data

DEFAULTS = dict(epochs=10, batch_size=64, seeds=5)  # 15 epochs before --seeds; 5 seeds: see the docstring
MINORITY, KEEP, GAMMA, OUTLIERS = "1,3,5,7,9", 0.05, 2.0, 0.1
SLOPE, INTERCEPT = 3.0, 2.0  # the regression's true line
CLAIM_FOCAL = "focal loss helps with imbalanced classes (better than cross-entropy on the rare classes)"
CLAIM_HUBER = "MSE is sensitive to outliers, Huber is robust to them"
CONFIDENCE, POWER = 0.95, 0.8  # of the minimum detectable effects


def build_parser():
    parser = runner.make_parser("losses", __doc__, comparison=True, **DEFAULTS)
    group = parser.add_argument_group("losses")
    group.add_argument("--width", type=runner.flags.width, default=32,
                       help="filters of the CNN's first block, doubled each block (default 32)")
    group.add_argument("--minority-classes", default=MINORITY, help="classes cut in the training split")
    group.add_argument("--keep-fraction", type=float, default=KEEP, help="fraction of their examples kept")
    group.add_argument("--focal-gamma", type=float, default=GAMMA)
    group.add_argument("--outlier-fraction", type=float, default=OUTLIERS, help="regression: outlying targets")
    group.add_argument("--regression-epochs", type=runner.flags.positive_int, default=100,
                       help="epochs of each line fit")
    return parser


def check_args(args):
    try:
        minority = sorted({int(c) for c in args.minority_classes.split(",") if c.strip()})
    except ValueError:
        minority = None
    if not minority:
        raise ValueError("`--minority-classes` must be comma-separated class ids like 1,3,5. "
                         f"Received: {args.minority_classes!r}")
    if not 0.0 < args.keep_fraction <= 1.0:
        raise ValueError(f"`--keep-fraction` must be in (0, 1]. Received: {args.keep_fraction}")
    if args.focal_gamma < 0:
        raise ValueError(f"`--focal-gamma` must be >= 0. Received: {args.focal_gamma}")
    if not 0.0 <= args.outlier_fraction < 0.5:
        raise ValueError(f"`--outlier-fraction` must be in [0, 0.5). Received: {args.outlier_fraction}")
    return minority


# 1. Imbalanced classes: cross-entropy vs class weights vs focal loss


def cut(args, y, num_classes):
    """Indices into the training split `y`: `(kept, removed)`, each class of `--minority-classes`
    cut to `--keep-fraction` of its examples (drawn with `--seed`), every other class kept whole."""
    minority = check_args(args)
    rng = np.random.default_rng(args.seed)
    keep = []
    for c in range(num_classes):
        index = np.flatnonzero(y == c)
        if c in minority:
            index = rng.choice(index, max(1, round(len(index) * args.keep_fraction)), replace=False)
        keep.append(index)
    keep = np.sort(np.concatenate(keep))
    return keep, np.setdiff1d(np.arange(len(y)), keep)


def imbalanced_arrays(args, num_classes):
    """The runner's training split, with each class of `--minority-classes` cut to `--keep-fraction`."""
    x, y = _data.split_arrays(args)[0]["train"]
    keep, _ = cut(args, y, num_classes)
    return x[keep], y[keep]


def cut_class_examples(args, num_classes):
    """`(x, y)`: every example of the cut classes that no model trains on: the test split's and the
    training examples the cut removed. The recall of the cut classes is counted on these."""
    minority = check_args(args)
    splits = _data.split_arrays(args)[0]
    x_train, y_train = splits["train"]
    _, removed = cut(args, y_train, num_classes)
    x = np.concatenate([splits["test"][0], x_train[removed]])
    y = np.concatenate([splits["test"][1], y_train[removed]])
    rare = np.isin(y, minority)
    return x[rare], y[rare]


def imbalanced_data(args, augment=None):
    """The runner's splits with the imbalanced training split (no augmentation here)."""
    _, validation, test, info = runner.load_data(args)
    x, y = imbalanced_arrays(args, info.num_classes)
    return data.make_dataset(x, y, args.batch_size, shuffle=True, seed=args.seed), validation, test, info


def balanced_weights(y, num_classes):
    """scikit-learn's "balanced" class weights: n / (classes * count of the class)."""
    counts = np.bincount(y, minlength=num_classes)
    return {c: len(y) / (num_classes * max(n, 1)) for c, n in enumerate(counts)}


def make_model(args, info):
    """The baseline CNN; seeded, so every loss starts from the same weights."""
    return models.build_model("cnn", info.input_shape, info.num_classes, width=args.width, seed=args.seed)


def variants(args, num_classes):
    """name -> the variant: the loss, with or without balanced class weights (of this seed's cut)."""
    class_weight = balanced_weights(imbalanced_arrays(args, num_classes)[1], num_classes)
    adam = functools.partial(keras.optimizers.Adam, 1e-3)
    ce, focal = "sparse_categorical_crossentropy", losses.FocalLoss(gamma=args.focal_gamma)
    name = f"focal (gamma {args.focal_gamma:g})"
    return {
        "cross-entropy": runner.Variant(loss=ce, optimizer=adam),
        "cross-entropy + class weights": runner.Variant(loss=ce, optimizer=adam, class_weight=class_weight),
        name: runner.Variant(loss=focal, optimizer=adam),
        f"{name} + class weights": runner.Variant(loss=focal, optimizer=adam, class_weight=class_weight),
    }


def recalls(model, test, num_classes):
    y_true = np.concatenate([y for _, y in test.as_numpy_iterator()])
    y_pred = np.argmax(model.predict(test, verbose=0), axis=-1)
    return [float(np.mean(y_pred[y_true == c] == c)) if np.any(y_true == c) else float("nan")
            for c in range(num_classes)]


def recall_metrics(args, name, result, *, num_classes, minority):
    """Recall per class on this seed's test split, balanced accuracy, the recall of the other
    classes (test split), and the recall of the cut classes counted on all their held-out
    examples (`cut_class_examples`: correct / examples) (`train_seeds`' `measure`)."""
    per_class = recalls(result.model, runner.load_data(args)[2], num_classes)
    x, y = cut_class_examples(args, num_classes)
    predicted = np.argmax(result.model.predict(data.make_dataset(x, y, args.batch_size), verbose=0), axis=-1)
    correct = int(np.sum(predicted == y))
    return dict(per_class_recall=per_class, balanced_accuracy=float(np.nanmean(per_class)),
                minority_recall=correct / len(y), minority_correct=correct, minority_examples=len(y),
                majority_recall=float(np.nanmean([r for c, r in enumerate(per_class) if c not in minority])))


def detectable_difference(p, n, confidence=CONFIDENCE, power=POWER):
    """The smallest difference of two proportions near `p`, each counted on `n` examples, that a
    two-sided test at `confidence` detects with `power`:
    `(z_{(1 + confidence) / 2} + z_power) * sqrt(2 p (1 - p) / n)` (about 2.8 * sqrt(2 p (1 - p) / n)).

    Independent errors are assumed; two models scored on the same examples disagree on fewer of
    them, so this is an upper bound of what the test set alone resolves.
    """
    if not 0.0 <= p <= 1.0 or n < 1:
        raise ValueError(f"`p` must be in [0, 1] and `n` >= 1. Received: p={p}, n={n}")
    z = scipy_stats.norm.ppf((1 + confidence) / 2) + scipy_stats.norm.ppf(power)
    return float(z * np.sqrt(2 * p * (1 - p) / n))


# 2. Regression with outliers: MSE vs Huber vs a custom loss


def noisy_line(args):
    """512 points of `SLOPE * x + INTERCEPT` with noise; `--outlier-fraction` of them get 10 to 30 added."""
    rng = np.random.default_rng(args.seed)
    x = rng.uniform(-1, 1, (512, 1)).astype("float32")
    y = (SLOPE * x + INTERCEPT + rng.normal(0, 0.2, x.shape)).astype("float32")
    outliers = rng.random(len(y)) < args.outlier_fraction
    y[outliers] += rng.uniform(10, 30, (outliers.sum(), 1)).astype("float32")  # gross, one-sided errors
    return x, y, outliers


def line_data(args, augment=None):
    x, y, _ = noisy_line(args)
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(64), None, None, None


def line_model(args):
    return keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])


def custom_loss(y_true, y_pred):
    """The guide's template, `(output - target).abs().mean()`, as a plain Keras loss function."""
    return keras.ops.mean(keras.ops.abs(y_pred - y_true), axis=-1)


def line_metrics(args, name, result):
    """The fitted slope and intercept, and the error on the clean line (`train_seeds`' `measure`)."""
    x_test = np.linspace(-1, 1, 200, dtype="float32")[:, None]
    w, b = (float(v.reshape(-1)[0]) for v in result.model.get_weights())
    error = result.model.predict(x_test, verbose=0) - (SLOPE * x_test + INTERCEPT)
    return dict(slope=w, intercept=b, test_mae=float(np.mean(np.abs(error))), test_mse=float(np.mean(error ** 2)))


def line_fits(args):
    """name -> the variant: the loss of the line fit."""
    adam = functools.partial(keras.optimizers.Adam, 0.05)
    return {name: runner.Variant(loss=loss, optimizer=adam, epochs=args.regression_epochs)
            for name, loss in (("MSE", "mse"), ("Huber (delta 1)", keras.losses.Huber(1.0)),
                               ("custom: mean |error|", custom_loss))}


# Result


def comparison(args, info, argv, results, minority, train_size):
    """The classification table: recall of the cut classes per loss (mean ± 95% CI over the seeds)."""
    table = runner.Comparison(
        f"Imbalanced {info.name}: classes {','.join(map(str, minority))} cut to {args.keep_fraction:g} "
        f"of their training examples ({train_size} left, first seed), {args.epochs} epochs",
        [("test_accuracy", "test accuracy"), ("balanced_accuracy", "balanced accuracy"),
         ("minority_recall", "recall, cut classes"), ("majority_recall", "recall, other classes")],
        claim=CLAIM_FOCAL, recipe="losses", seeds=results.seeds,
        shows="imbalanced classes: focal loss vs cross-entropy (and class weights); regression with "
        "outliers: Huber vs MSE (and a custom loss); each claim judged alone",
        command=runner.command_line("losses", argv),
    )
    for name in results.runs:
        table.add_seeds(name, results.metrics(name))
    table.add_effect("minority_recall", "cross-entropy", header="recall, cut classes − cross-entropy")
    return table


def detectable(args, table, minority):
    """The minimum detectable effects of the focal claim (call after `judge`): what the cut classes'
    examples resolve per seed and over all seeds, what the test split alone would, and what the
    seeds resolve (the judgment's, from the spread of the per-seed differences)."""
    examples = table.values("cross-entropy", "minority_examples")
    p = float(np.mean(table.values("cross-entropy", "minority_recall")))
    test_only = int(np.isin(_data.split_arrays(args)[0]["test"][1], minority).sum())  # first seed's
    judgment = table.judgments[0]
    return {
        "confidence": CONFIDENCE, "power": POWER, "recall": p,
        "formula": "(z_(1+confidence)/2 + z_power) * sqrt(2 p (1 - p) / n)",
        "examples_per_seed": examples[0], "examples_all_seeds": int(sum(examples)),
        "per_seed": detectable_difference(p, examples[0]),
        "all_seeds": detectable_difference(p, sum(examples)),
        "test_split_only_examples": test_only, "test_split_only": detectable_difference(p, test_only),
        "seeds": judgment["minimum_detectable_effect"], "observed": judgment["effect"]["mean"],
    }


def detectable_note(table, size):
    seeds = "n/a (one seed)" if size["seeds"] is None else f"{size['seeds']:.4f}"
    table.note(
        f"Recall of the cut classes is counted on every example of them that no model trained on: the test "
        f"split's and the training examples the cut removed ({size['examples_per_seed']} a seed, first seed; the "
        f"test split alone holds {size['test_split_only_examples']}). Minimum detectable effect (95% "
        f"two-sided, 80% power) of a recall difference near {size['recall']:.2f}: {size['per_seed']:.4f} on one "
        f"seed's examples, {size['all_seeds']:.4f} on all {size['examples_all_seeds']} over the seeds "
        f"({size['test_split_only']:.4f} on the test split alone), by {size['formula']}; from the spread of the "
        f"per-seed differences, {seeds} over {len(table.seeds)} seeds. Observed focal − cross-entropy: "
        f"{runner.format_value(size['observed'], '+.4f')}. The verdict is inconclusive while the 95% CI of the "
        "paired difference includes 0."
        + (" The seeds, not the test set, limit what this run resolves (which few examples of a cut class are "
           "kept, and the initial weights, move the recall more than the test set's sampling): more `--seeds` "
           "narrow it." if size["seeds"] is not None and size["seeds"] > size["per_seed"] else ""))


def line_comparison(args, fits):
    """The regression table: each loss's fitted line against the truth, on clean test data."""
    table = runner.Comparison(
        f"Regression with {args.outlier_fraction:.0%} outliers: a line fitted with each loss",
        [("slope", "slope"), ("intercept", "intercept"), ("test_mae", "clean test MAE"),
         ("test_mse", "clean test MSE")], claim=CLAIM_HUBER, recipe="losses", seeds=fits.seeds)
    for name in fits.runs:
        table.add_seeds(name, fits.metrics(name))
    table.add_effect("test_mae", "MSE", header="clean test MAE − MSE")
    _, y, outliers = noisy_line(args)
    table.note(f"Truth: slope {SLOPE:g}, intercept {INTERCEPT:g}; about {outliers.sum()} of {len(y)} training "
               "targets have 10 to 30 added (another draw per seed). Test data is the clean line.")
    return table


def judge(table, lines):
    """The two claims, each judged in its own table with its own verdict (no AND):
    `{claim: verdict}`."""
    focal = table.rows[2]["variant"]
    huber = lines.rows[1]["variant"]
    return {
        "focal loss vs cross-entropy": table.judge("minority_recall", "cross-entropy", focal),
        "Huber vs MSE": lines.judge("test_mae", "MSE", huber, direction=-1,
                                    label=f"{huber} − MSE, clean test MAE of the line"),
    }


def record(table, lines, verdicts, size, counts):
    """metrics.json's `results`: the classification table, the regression table under
    `regression`, both judgments, one verdict per claim (`verdicts`) and the detectable effects.
    `verdict` names the two claims' verdicts apart (the tables' own `verdict` is each claim's)."""
    return {
        **table.to_dict(), "regression": lines.to_dict(), "verdicts": verdicts,
        "judgments": [*table.judgments, *lines.judgments],
        "verdict": "; ".join(f"{claim}: {verdict}" for claim, verdict in verdicts.items()),
        "minimum_detectable_effect": size, "train_class_counts": counts,
    }


def main(argv=None):
    args = runner.parse_args(build_parser(), argv)
    minority = check_args(args)
    runner.setup(args)

    # Data: the runner's splits, some classes cut in the training split
    train, validation, test, info = imbalanced_data(args)
    if max(minority) >= info.num_classes:
        raise ValueError(f"`--minority-classes` must lie in [0, {info.num_classes}). Received: {args.minority_classes}")
    x, y = imbalanced_arrays(args, info.num_classes)

    # Model
    build = functools.partial(make_model, info=info)
    with runner.scope(args):
        probe = build(args)
        probe.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    data.check_targets(probe, train)  # before anything is written

    # Train with and without: per seed, each loss from the same weights on the same batches; then
    # the line fits, each loss from the same seeded start
    run = runner.start_run(args)  # the first seed's last classifier is the run's: checkpointed, resumable
    results = runner.train_seeds(
        args, functools.partial(variants, num_classes=info.num_classes), build, data=imbalanced_data, run=run,
        measure=functools.partial(recall_metrics, num_classes=info.num_classes, minority=minority))
    fits = runner.train_seeds(args, line_fits, line_model, data=line_data, measure=line_metrics, test=False,
                              metrics=())

    # Result: two claims, two tables, two verdicts
    table = comparison(args, info, argv, results, minority, len(y))
    lines = line_comparison(args, fits)
    verdicts = judge(table, lines)
    size = detectable(args, table, minority)
    detectable_note(table, size)
    table.write(run.directory, extra_markdown=lines.to_markdown())
    table.print()
    lines.print()
    last = results.first[list(results.runs)[-1]]
    counts = np.bincount(y, minlength=info.num_classes).tolist()
    return run.finish(last.model, last.history, test, info, extra=record(table, lines, verdicts, size, counts))


if __name__ == "__main__":
    runner.run_cli(main)
