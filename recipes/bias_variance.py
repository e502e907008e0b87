"""Bias and variance: polynomial regression of rising degree on a noisy 1-D function; the
training and validation error against degree (the U-curve) and the degree it picks.

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

The data is generated here, so the shared data flags (--dataset, --data-dir, ...) do not
apply; `--seed` draws another first sample. It writes the runner's files for the picked degree's
model (of the first seed), `comparison.md` and `u_curve.png` (mean training and validation error
against degree).
"""

import functools

import numpy as np

from kerasext import runner  # first: starts TensorFlow without its C++ log lines
import tensorflow as tf
import keras

DEFAULTS = dict(epochs=400)
TRAIN_POINTS, VALIDATION_POINTS, NOISE, MAX_DEGREE, LEARNING_RATE = 30, 200, 0.25, 15, 0.05
CLAIM = "simple models have high bias (underfit), complex ones high variance (overfit)"


def build_parser():
    parser = runner.make_parser("bias_variance", __doc__, comparison=True, **DEFAULTS)
    group = parser.add_argument_group("polynomial regression")
    group.add_argument("--train-points", type=runner.flags.positive_int, default=TRAIN_POINTS)
    group.add_argument("--validation-points", type=runner.flags.positive_int, default=VALIDATION_POINTS)
    group.add_argument("--noise", type=float, default=NOISE, help="standard deviation of the noise")
    group.add_argument("--max-degree", type=runner.flags.positive_int, default=MAX_DEGREE)
    group.add_argument("--learning-rate", type=float, default=LEARNING_RATE, help="Adam's learning rate")
    return parser


def check_args(args):
    if args.dataset != "digits" or args.data_dir or args.image_size or args.channels:
        raise ValueError("bias_variance.py generates its own 1-D data; --dataset, --data-dir, "
                         f"--image-size and --channels do not apply. Received: --dataset {args.dataset}")
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


def main(argv=None):
    args = runner.parse_args(build_parser(), argv)
    check_args(args)
    runner.setup(args)

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
