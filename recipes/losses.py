"""Losses: cross-entropy vs class weights vs focal loss on imbalanced classes, and MSE vs
Huber vs a custom loss on regression with outliers.

The guide says focal loss "reduces the weight of easy examples" and, with cross-entropy,
"works best, especially with imbalanced datasets"; that MSE is "sensitive to outliers" and
Huber "robust to outliers"; and shows a custom loss, `mean(|output - target|)`. This recipe:

1. cuts some digit classes to 5% of their training examples, then trains the baseline CNN
   with cross-entropy, cross-entropy with balanced class weights, focal loss
   (`kerasext.losses.FocalLoss`) and focal loss with class weights, from the same weights,
   and reports test accuracy, balanced accuracy and the recall of the cut classes;
2. fits a line to data where 10% of the training targets are gross outliers, with MSE,
   Huber and the guide's custom loss (a plain function), and reports each fitted slope and
   intercept against the truth and the error on clean test data.

Run (defaults: digits, 4 + 3 variants, about a minute on 2 cores):

    python recipes/losses.py
    python recipes/losses.py --minority-classes 0,1,2,3,4 --keep-fraction 0.1 --focal-gamma 3
    python recipes/losses.py --dataset ../shared/data/cifar10_test.npz --epochs 20

It writes the runner's files for the last classification variant, `comparison.md` (both
tables) and records both in metrics.json under `results`.
"""

import numpy as np

import kerasext  # noqa: F401  (first: starts TensorFlow without its C++ log lines)
import keras
from kerasext import data, losses, models, results, runner

DEFAULTS = dict(epochs=15, batch_size=64)
MINORITY, KEEP, GAMMA, OUTLIERS = "1,3,5,7,9", 0.05, 2.0, 0.1
CLAIM = ("focal loss helps with imbalanced classes; MSE is sensitive to outliers, Huber is robust "
         "to them")


def build_parser():
    parser = runner.make_parser("losses", __doc__, **DEFAULTS)
    group = parser.add_argument_group("losses")
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


def imbalanced_train(args, minority, num_classes):
    """The runner's training split, with each minority class cut to `keep_fraction`."""
    arrays = data.load_arrays(args.dataset, data_dir=args.data_dir, image_size=args.image_size,
                              channels=args.channels)
    train_idx, _, _ = data.stratified_split(arrays.y, args.split, args.seed)  # as runner.load_data
    rng = np.random.default_rng(args.seed)
    keep = []
    for c in range(num_classes):
        idx = train_idx[arrays.y[train_idx] == c]
        if c in minority:
            idx = rng.choice(idx, max(1, round(len(idx) * args.keep_fraction)), replace=False)
        keep.append(idx)
    keep = np.sort(np.concatenate(keep))
    x, y = arrays.x[keep], arrays.y[keep]
    counts = np.bincount(y, minlength=num_classes)
    weights = {c: len(y) / (num_classes * max(n, 1)) for c, n in enumerate(counts)}  # "balanced"
    return (lambda: data.make_dataset(x, y, args.batch_size, shuffle=True, seed=args.seed)), counts, weights


def recalls(model, test, num_classes):
    y_true = np.concatenate([y for _, y in test.as_numpy_iterator()])
    y_pred = np.argmax(model.predict(test, verbose=0), axis=-1)
    return [float(np.mean(y_pred[y_true == c] == c)) if np.any(y_true == c) else float("nan")
            for c in range(num_classes)]


def custom_loss(y_true, y_pred):
    """The guide's template, `(output - target).abs().mean()`, as a plain Keras loss function."""
    return keras.ops.mean(keras.ops.abs(y_pred - y_true), axis=-1)


def regression(args, table):
    rng = np.random.default_rng(args.seed)
    slope, intercept = 3.0, 2.0
    x = rng.uniform(-1, 1, (512, 1)).astype("float32")
    y = (slope * x + intercept + rng.normal(0, 0.2, x.shape)).astype("float32")
    outliers = rng.random(len(y)) < args.outlier_fraction
    y[outliers] += rng.uniform(10, 30, (outliers.sum(), 1)).astype("float32")  # gross, one-sided errors
    x_test = np.linspace(-1, 1, 200, dtype="float32")[:, None]
    y_test = slope * x_test + intercept
    for name, loss in (("MSE", "mse"), ("Huber (delta 1)", keras.losses.Huber(1.0)),
                       ("custom: mean |error|", custom_loss)):
        keras.utils.set_random_seed(args.seed)
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss=loss)
        model.fit(x, y, batch_size=64, epochs=args.regression_epochs, verbose=0, shuffle=False)
        w, b = (float(v.reshape(-1)[0]) for v in model.get_weights())
        error = model.predict(x_test, verbose=0) - y_test
        table.add(name, slope=w, intercept=b, test_mae=float(np.mean(np.abs(error))),
                  test_mse=float(np.mean(error ** 2)))
    table.note(f"Truth: slope {slope:g}, intercept {intercept:g}; {outliers.sum()} of {len(y)} training "
               "targets have 10 to 30 added. Test data is the clean line.")


def main(argv=None):
    args = runner.parse_args(build_parser(), argv)
    minority = check_args(args)
    runner.setup(args)
    _, validation, test, info = runner.load_data(args)
    if max(minority) >= info.num_classes:
        raise ValueError(f"`--minority-classes` must lie in [0, {info.num_classes}). Received: {args.minority_classes}")
    make_train, counts, class_weight = imbalanced_train(args, minority, info.num_classes)
    strategy = runner.strategy(args)
    with strategy.scope():
        model = models.build_model("cnn", info.input_shape, info.num_classes, seed=args.seed)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    data.check_targets(model, make_train())  # before anything is written
    initial_weights = model.get_weights()

    run = runner.start_run(args)
    table = results.Comparison(
        f"Imbalanced {info.name}: classes {','.join(map(str, minority))} cut to {args.keep_fraction:g} "
        f"of their training examples ({int(counts.sum())} left), {args.epochs} epochs",
        [("test_accuracy", "test accuracy"), ("balanced_accuracy", "balanced accuracy"),
         ("minority_recall", "recall, cut classes"), ("majority_recall", "recall, other classes")],
        claim=CLAIM, recipe="losses",
        shows="imbalanced classes: cross-entropy vs class weights vs focal loss; regression with "
        "outliers: MSE vs Huber vs a custom loss",
        command=results.command_line("losses", argv),
    )
    ce, focal = "sparse_categorical_crossentropy", losses.FocalLoss(gamma=args.focal_gamma)
    variants = {"cross-entropy": (ce, None), "cross-entropy + class weights": (ce, class_weight),
                f"focal (gamma {args.focal_gamma:g})": (focal, None),
                f"focal (gamma {args.focal_gamma:g}) + class weights": (focal, class_weight)}
    for index, (name, (loss, weights)) in enumerate(variants.items()):
        last = index == len(variants) - 1
        result = results.fit_variant(
            model, make_train(), validation, epochs=args.epochs, initial_weights=initial_weights,
            optimizer=lambda: keras.optimizers.Adam(1e-3), loss=loss, strategy=strategy, test=test,
            class_weight=weights, callbacks=run.callbacks() if last else [], seed=args.seed)
        per_class = recalls(model, test, info.num_classes)
        table.add(name, per_class_recall=per_class, balanced_accuracy=float(np.nanmean(per_class)),
                  minority_recall=float(np.nanmean([per_class[c] for c in minority])),
                  majority_recall=float(np.nanmean([r for c, r in enumerate(per_class) if c not in minority])),
                  **result.metrics)
    plain, weighted, focal_row, _ = table.rows
    reg = results.Comparison(
        f"Regression with {args.outlier_fraction:.0%} outliers: a line fitted with each loss",
        [("slope", "slope"), ("intercept", "intercept"), ("test_mae", "clean test MAE"),
         ("test_mse", "clean test MSE")], recipe="losses")
    regression(args, reg)
    mse, huber, custom = reg.rows
    table.check_claim(
        focal_row["minority_recall"] > plain["minority_recall"] and huber["test_mae"] < mse["test_mae"], (
            f"recall of the cut classes: cross-entropy {plain['minority_recall']:.4f}, class weights "
            f"{weighted['minority_recall']:.4f}, focal {focal_row['minority_recall']:.4f}; clean test MAE "
            f"of the line: MSE {mse['test_mae']:.3f}, Huber {huber['test_mae']:.3f}, custom "
            f"{custom['test_mae']:.3f}."))
    table.write(run.directory, extra_markdown=reg.to_markdown())
    table.print()
    reg.print()
    extra = {**table.to_dict(), "regression": reg.to_dict(), "train_class_counts": counts.tolist()}
    return run.finish(model, result.history, test, info, extra=extra)


if __name__ == "__main__":
    runner.run_cli(main)
