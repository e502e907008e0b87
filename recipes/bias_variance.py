"""Bias and variance: polynomial regression of rising degree on a noisy 1-D function (the
training and validation error against degree, the U-curve, and the degree it picks); on an image
data set, a CNN of rising width.

The guide says "simple models may have high bias, while complex ones risk high variance",
with polynomial regression as the classic example. This recipe draws a few noisy samples of
`sin(2 pi x)`, fits a Keras linear model on Legendre features of degree 1 to `--max-degree`
(full batch, Adam; Legendre rather than raw powers so that gradient descent is well
conditioned), and records training and validation mean squared error per degree, next to the
exact least-squares fit's, and the degree with the lowest validation error. Each seed of
`--seeds` (default 3) draws another sample; a cell is the mean ± 95% CI over the samples. It
judges "simple models underfit" by the paired difference of validation error, degree 1 minus
the best degree, and "complex ones overfit" by the least-squares validation error, the highest
degree minus its best degree.

Run (defaults: 3 samples, 30 training points, degrees 1 to 15, about 40 seconds on 2 cores):

    python recipes/bias_variance.py
    python recipes/bias_variance.py --train-points 100 --noise 0.1 --max-degree 20

The polynomial data is generated here, so the image data flags (--image-size, --channels) do
not apply to it; `--seed` draws another first sample. It writes the runner's files for the picked
degree's model (of the first seed), `comparison.md` and `u_curve.png` (mean training and
validation error against degree).

On images (`--dataset` naming an image data set, or `--model cnn`, which also runs on digits),
capacity is the width of the recipes' CNN (`--widths`, filters of its first block, doubled each
block), every width trained for `--epochs` (default 20) with Adam (default 0.001), best on a
small training split (`--split 0.15,0.15,0.7` below). It judges "simple models underfit" by the paired difference of test
accuracy, the best width (highest mean validation accuracy) minus the narrowest, and "complex
ones overfit" by the training − test accuracy gap (training accuracy measured in inference
mode), the widest minus the narrowest. `u_curve.png` then shows training and test error
against width:

    python recipes/bias_variance.py --dataset ../shared/data/cifar10_test.npz --split 0.15,0.15,0.7
    python recipes/bias_variance.py --model cnn --widths 1,4,16 --split 0.15,0.15,0.7   # digits
"""

import functools

import numpy as np

from kerasext import runner  # first: starts TensorFlow without its C++ log lines
import tensorflow as tf
import keras
from kerasext import models

DEFAULTS = dict(epochs=None)  # resolved by check_args: POLYNOMIAL_EPOCHS or IMAGE_EPOCHS
POLYNOMIAL_EPOCHS = 400
TRAIN_POINTS, VALIDATION_POINTS, NOISE, MAX_DEGREE, LEARNING_RATE = 30, 200, 0.25, 15, 0.05
WIDTHS, IMAGE_LEARNING_RATE, IMAGE_EPOCHS = "2,4,8,16", 1e-3, 20
CLAIM = "simple models have high bias (underfit), complex ones high variance (overfit)"


def build_parser():
    parser = runner.make_parser("bias_variance", __doc__, comparison=True, **DEFAULTS)
    group = parser.add_argument_group("polynomial regression")
    group.add_argument("--train-points", type=runner.flags.positive_int, default=TRAIN_POINTS)
    group.add_argument("--validation-points", type=runner.flags.positive_int, default=VALIDATION_POINTS)
    group.add_argument("--noise", type=float, default=NOISE, help="standard deviation of the noise")
    group.add_argument("--max-degree", type=runner.flags.positive_int, default=MAX_DEGREE)
    group.add_argument("--learning-rate", type=float, default=None,
                       help=f"Adam's learning rate (default {LEARNING_RATE:g}; on images {IMAGE_LEARNING_RATE:g})")
    group = parser.add_argument_group("images")
    group.add_argument("--model", choices=("polynomial", "cnn"), default=None,
                       help="polynomial (the default with no --dataset) or cnn (the default with one)")
    group.add_argument("--widths", default=WIDTHS,
                       help=f"cnn: the first block's filters of each network, narrowest first (default {WIDTHS})")
    return parser


def widths(args):
    """`--widths` as a list of ints, narrowest first.

    Raises:
        ValueError: naming the flag and the value, unless two or more increasing widths.
    """
    try:
        values = [int(v) for v in str(args.widths).split(",")]
    except ValueError:
        values = []
    if len(values) < 2 or values != sorted(set(values)) or values[0] < 1 or values[-1] > runner.flags.MAX_WIDTH:
        raise ValueError(f"`--widths` must be two or more increasing integers in [1, "
                         f"{runner.flags.MAX_WIDTH}]. Received: {args.widths}")
    return values


def image_mode(args):
    """True when the recipe fits CNNs to an image data set rather than polynomials to 1-D data."""
    if args.model is not None:
        return args.model == "cnn"
    return args.dataset != "digits" or args.data_dir is not None


def check_args(args):
    if image_mode(args):
        widths(args)  # checked before anything is written
        if args.learning_rate is None:
            args.learning_rate = IMAGE_LEARNING_RATE
        if args.epochs is None:
            args.epochs = IMAGE_EPOCHS
    elif args.dataset != "digits" or args.data_dir or args.image_size or args.channels:
        raise ValueError("bias_variance.py --model polynomial generates its own 1-D data; --dataset, --data-dir, "
                         f"--image-size and --channels do not apply. Received: --dataset {args.dataset}")
    if args.learning_rate is None:
        args.learning_rate = LEARNING_RATE
    if args.epochs is None:
        args.epochs = POLYNOMIAL_EPOCHS
    if args.noise < 0:
        raise ValueError(f"`--noise` must be >= 0. Received: {args.noise}")
    if args.train_points < 2:
        raise ValueError(f"`--train-points` must be >= 2. Received: {args.train_points}")
    if not args.learning_rate > 0:
        raise ValueError(f"`--learning-rate` must be > 0. Received: {args.learning_rate}")


def sample(n, noise, rng):
    x = rng.uniform(-1.0, 1.0, n)
    return x, np.sin(np.pi * (x + 1.0)) + rng.normal(0.0, noise, n)  # sin(2 pi u) for u in [0, 1]


def samples(args):
    """`{"train", "validation", "test"}` -> `(x, y)`: noisy samples drawn from `--seed`."""
    rng = np.random.default_rng(args.seed)
    sizes = {"train": args.train_points, "validation": args.validation_points, "test": args.validation_points}
    return {name: sample(n, args.noise, rng) for name, n in sizes.items()}


def features(x, degree):
    """Legendre polynomials P_1..P_degree of x in [-1, 1] (orthogonal, so well conditioned)."""
    return np.polynomial.legendre.legvander(x, degree)[:, 1:].astype("float32")


def full_batch(args, augment=None, *, degree):
    """The training points' features as one batch, `--epochs` times: full-batch gradient descent,
    one Keras epoch of `--epochs` steps (no per-epoch overhead)."""
    x, y = samples(args)["train"]
    batches = tf.data.Dataset.from_tensors((features(x, degree), y.astype("float32"))).repeat(args.epochs)
    return batches, None, None, None


def make_model(args, degree):
    """A linear model on the degree's features."""
    return keras.Sequential([keras.Input((degree,)), keras.layers.Dense(1)], name=f"degree_{degree}")


def variants(args):
    """name (the degree) -> the variant: its features; Adam and MSE for every degree."""
    adam = functools.partial(keras.optimizers.Adam, args.learning_rate)
    return {degree: runner.Variant(model={"degree": degree}, optimizer=adam, loss="mse", epochs=1,
                                   data=functools.partial(full_batch, degree=degree))
            for degree in range(1, args.max_degree + 1)}


def errors(args, degree, result):
    """The fitted model's training and validation MSE on this seed's sample, and the exact
    least-squares fit's (`train_seeds`' `measure`)."""
    points = samples(args)
    (x_train, y_train), (x_val, y_val) = points["train"], points["validation"]
    exact = np.polynomial.legendre.legfit(x_train, y_train, degree)
    return {
        "train_mse": float(result.model.evaluate(features(x_train, degree), y_train, verbose=0)),
        "val_mse": float(result.model.evaluate(features(x_val, degree), y_val, verbose=0)),
        "exact_train_mse": float(np.mean((np.polynomial.legendre.legval(x_train, exact) - y_train) ** 2)),
        "exact_val_mse": float(np.mean((np.polynomial.legendre.legval(x_val, exact) - y_val) ** 2)),
    }


def comparison(args, argv, results):
    """The table: training and validation error per degree (mean ± 95% CI over the samples), next
    to the exact least-squares fit's, and the claim judged at both ends of the U."""
    table = runner.Comparison(
        f"Polynomial degree vs error: {args.train_points} noisy samples of sin(2πx) (noise "
        f"{args.noise:g}), Keras linear model on Legendre features, {args.epochs} full-batch epochs",
        [("train_mse", "train MSE"), ("val_mse", "validation MSE"),
         ("exact_train_mse", "least-squares train MSE"), ("exact_val_mse", "least-squares validation MSE")],
        claim=CLAIM, recipe="bias_variance", seeds=results.seeds,
        shows="polynomial degree vs train and validation error: the U-curve and the degree it picks",
        command=runner.command_line("bias_variance", argv),
    )
    for degree in results.runs:
        table.add_seeds(degree, results.metrics(degree), degree=degree)
    picked = table.best("val_mse", highest=False)
    exact_pick = table.best("exact_val_mse", highest=False)
    first, last = table.rows[0]["variant"], table.rows[-1]["variant"]
    table.add_effect("val_mse", picked["variant"], header=f"validation MSE − degree {picked['degree']}")
    table.note(f"Noise variance (the floor no model can beat): {args.noise ** 2:.4f}. Lowest mean validation "
               f"error: degree {picked['degree']} (Keras), degree {exact_pick['degree']} (least squares); "
               "each seed is another sample of the data.")
    table.judge("val_mse", picked["variant"], first, label=f"validation MSE, degree 1 − degree {picked['degree']} "
                "(underfitting)")
    table.judge("exact_val_mse", exact_pick["variant"], last, label=f"least-squares validation MSE, degree "
                f"{args.max_degree} − degree {exact_pick['degree']} (overfitting)")
    return table, picked["degree"], exact_pick["degree"]


def plot_u_curve(table, path):
    runner.plot_variants(
        {"Keras (Adam)": {"train MSE": [r["train_mse"] for r in table.rows],
                          "validation MSE": [r["val_mse"] for r in table.rows]},
         "least squares": {"train MSE": [r["exact_train_mse"] for r in table.rows],
                           "validation MSE": [r["exact_val_mse"] for r in table.rows]}},
        path, keys=("train MSE", "validation MSE"), x="degree", log_y=True,
        title="bias (low degree) vs variance (high degree)")


# On images: the recipes' CNN of rising width -----------------------------------------------


def make_cnn(args, info, width):
    """The recipes' CNN with `width` filters in its first block; seeded."""
    return models.build_model("cnn", info.input_shape, info.num_classes, width=width, seed=args.seed)


def cnn_variants(args):
    """name -> the variant: the width; Adam at `--learning-rate` for every width."""
    adam = functools.partial(keras.optimizers.Adam, args.learning_rate)
    return {f"width {w}": runner.Variant(model={"width": w}, optimizer=adam) for w in widths(args)}


def cnn_comparison(args, info, argv, results):
    """The table: training, validation and test accuracy per width and the train − test gap, with
    the claim judged at both ends: test accuracy, best − narrowest; gap, widest − narrowest."""
    table = runner.Comparison(
        f"CNN width vs error on {info.name}: {info.split_sizes['train']} training examples, "
        f"{args.epochs} epochs, Adam {args.learning_rate:g}",
        [("train_eval_accuracy", "train accuracy"), ("val_accuracy", "validation accuracy"),
         ("test_accuracy", "test accuracy"), ("generalization_gap", "train − test gap")],
        claim=CLAIM, recipe="bias_variance", seeds=results.seeds,
        shows="model capacity vs train and validation error: the U-curve and the capacity it picks",
        command=runner.command_line("bias_variance", argv),
    )
    for name, width in zip(results.runs, widths(args)):
        table.add_seeds(name, results.metrics(name), width=width)
    picked = table.best("val_accuracy", highest=True)
    first, last = table.rows[0], table.rows[-1]
    table.add_effect("test_accuracy", picked["variant"], header=f"test accuracy − width {picked['width']}")
    table.note(f"Highest mean validation accuracy: width {picked['width']}. One test example is "
               f"{1 / info.split_sizes['test']:.4f} of accuracy; training accuracy is measured in inference mode.")
    table.judge("test_accuracy", first["variant"], picked["variant"],
                label=f"test accuracy, width {picked['width']} − width {first['width']} (underfitting)")
    table.judge("generalization_gap", first["variant"], last["variant"],
                label=f"train − test gap, width {last['width']} − width {first['width']} (overfitting)")
    return table, picked


def plot_width_curve(table, path):
    runner.plot_variants(
        {"CNN": {"train error": [1 - r["train_eval_accuracy"] for r in table.rows],
                 "test error": [1 - r["test_accuracy"] for r in table.rows]}},
        path, keys=("train error", "test error"), x="width index (narrowest first)",
        title="bias (narrow) vs variance (wide)")


def main_images(args, argv):
    # Data: the named image data set, split by --split
    train, validation, test, info = runner.load_data(args)

    # Model: the recipes' CNN at each width of --widths
    build = functools.partial(make_cnn, info=info)

    # Train every width: per seed the same batches; the clean training split evaluated in inference mode
    run = runner.start_run(args)
    results = runner.train_seeds(args, cnn_variants, build, run=run, train_eval=True)

    # Result
    table, picked = cnn_comparison(args, info, argv, results)
    table.write(run.directory)
    plot_width_curve(table, run.path("u_curve.png"))
    table.print()
    last = results.first[list(results.first)[-1]]
    return run.finish(last.model, last.history, test, info, extra={**table.to_dict(), "picked_width": picked["width"]},
                      callbacks=last.callbacks)


def main(argv=None):
    args = runner.parse_args(build_parser(), argv)
    check_args(args)
    runner.setup(args)
    if image_mode(args):
        return main_images(args, argv)

    # Data: noisy samples of sin(2 pi x), drawn from each seed; each degree sees its own features
    points = samples(args)

    # Model: a linear model on the Legendre features of each degree, 1 to --max-degree
    degrees = variants(args)

    # Train with and without: per seed, every degree from the same seeded start, full batch
    run = runner.start_run(args)
    results = runner.train_seeds(args, degrees, make_model, measure=errors, test=False, metrics=())

    # Result
    table, picked, least_squares = comparison(args, argv, results)
    table.write(run.directory)
    plot_u_curve(table, run.path("u_curve.png"))
    table.print()
    x_test, y_test = points["test"]
    test = tf.data.Dataset.from_tensor_slices((features(x_test, picked), y_test.astype("float32"))).batch(64)
    extra = {**table.to_dict(), "picked_degree": picked, "least_squares_degree": least_squares}
    final = results.first[picked]
    return run.finish(final.model, final.history, test, None, extra=extra)


if __name__ == "__main__":
    runner.run_cli(main)
