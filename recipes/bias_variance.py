"""Bias and variance: polynomial regression of rising degree on a noisy 1-D function; the
training and validation error against degree (the U-curve) and the degree it picks.

The guide says "simple models may have high bias, while complex ones risk high variance",
with polynomial regression as the classic example. This recipe draws a few noisy samples of
`sin(2 pi x)`, fits a Keras linear model on Legendre features of degree 1 to `--max-degree`
(full batch, Adam; Legendre rather than raw powers so that gradient descent is well
conditioned), and records training and validation mean squared error per degree, next to the
exact least-squares fit's, and the degree with the lowest validation error.

Run (defaults: 30 training points, degrees 1 to 15, about 40 seconds on 2 cores):

    python recipes/bias_variance.py
    python recipes/bias_variance.py --train-points 100 --noise 0.1 --max-degree 20

The data is generated here, so the shared data flags (--dataset, --data-dir, ...) do not
apply; `--seed` draws another sample. It writes the runner's files for the picked degree's
model, `comparison.md` and `u_curve.png` (training and validation error against degree).
"""

import numpy as np
import tensorflow as tf

import kerasext  # noqa: F401  (first: starts TensorFlow without its C++ log lines)
import keras
from kerasext import results, runner

DEFAULTS = dict(epochs=400)
TRAIN_POINTS, VALIDATION_POINTS, NOISE, MAX_DEGREE, LEARNING_RATE = 30, 200, 0.25, 15, 0.05
CLAIM = "simple models have high bias (underfit), complex ones high variance (overfit)"


def build_parser():
    parser = runner.make_parser("bias_variance", __doc__, **DEFAULTS)
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


def features(x, degree):
    """Legendre polynomials P_1..P_degree of x in [-1, 1] (orthogonal, so well conditioned)."""
    return np.polynomial.legendre.legvander(x, degree)[:, 1:].astype("float32")


def main(argv=None):
    args = runner.parse_args(build_parser(), argv)
    check_args(args)
    runner.setup(args)
    rng = np.random.default_rng(args.seed)
    x_train, y_train = sample(args.train_points, args.noise, rng)
    x_val, y_val = sample(args.validation_points, args.noise, rng)
    x_test, y_test = sample(args.validation_points, args.noise, rng)
    strategy = runner.strategy(args)

    run = runner.start_run(args)
    table = results.Comparison(
        f"Polynomial degree vs error: {args.train_points} noisy samples of sin(2πx) (noise "
        f"{args.noise:g}), Keras linear model on Legendre features, {args.epochs} full-batch epochs",
        [("train_mse", "train MSE"), ("val_mse", "validation MSE"),
         ("exact_train_mse", "least-squares train MSE"), ("exact_val_mse", "least-squares validation MSE")],
        claim=CLAIM, recipe="bias_variance",
        shows="polynomial degree vs train and validation error: the U-curve and the degree it picks",
        command=results.command_line("bias_variance", argv),
    )
    fits, curve = {}, {"train MSE": {}, "validation MSE": {}}
    for degree in range(1, args.max_degree + 1):
        f_train, f_val = features(x_train, degree), features(x_val, degree)
        keras.utils.set_random_seed(args.seed)
        with strategy.scope():
            model = keras.Sequential([keras.Input((degree,)), keras.layers.Dense(1)], name=f"degree_{degree}")
            model.compile(optimizer=keras.optimizers.Adam(args.learning_rate), loss="mse")
        full_batch = tf.data.Dataset.from_tensors((f_train, y_train.astype("float32"))).repeat()
        # Full-batch gradient descent: one pass over the data is one step, so `--epochs`
        # passes run as one Keras epoch of that many steps (no per-epoch overhead).
        history = model.fit(full_batch, epochs=1, steps_per_epoch=args.epochs, verbose=0)
        train_mse = float(model.evaluate(f_train, y_train, verbose=0))
        val_mse = float(model.evaluate(f_val, y_val, verbose=0))
        exact = np.polynomial.legendre.legfit(x_train, y_train, degree)
        exact_train = float(np.mean((np.polynomial.legendre.legval(x_train, exact) - y_train) ** 2))
        exact_val = float(np.mean((np.polynomial.legendre.legval(x_val, exact) - y_val) ** 2))
        table.add(degree, degree=degree, train_mse=train_mse, val_mse=val_mse,
                  exact_train_mse=exact_train, exact_val_mse=exact_val)
        fits[degree] = (model, history)
        curve["train MSE"][degree], curve["validation MSE"][degree] = train_mse, val_mse

    picked = table.best("val_mse", highest=False)
    exact_pick = table.best("exact_val_mse", highest=False)
    first, last = table.rows[0], table.rows[-1]
    falls = last["train_mse"] < first["train_mse"]
    u_shape = picked["degree"] not in (1, args.max_degree) and (
        last["exact_val_mse"] > exact_pick["exact_val_mse"])
    table.note(f"Noise variance (the floor no model can beat): {args.noise ** 2:.4f}.")
    table.check_claim(falls and u_shape, (
        f"training error falls from {first['train_mse']:.4f} (degree 1) to {last['train_mse']:.4f} "
        f"(degree {args.max_degree}); validation error is lowest at degree {picked['degree']} "
        f"({picked['val_mse']:.4f}; least squares: degree {exact_pick['degree']}, "
        f"{exact_pick['exact_val_mse']:.4f}) and is {last['exact_val_mse']:.4f} for the exact "
        f"degree-{args.max_degree} fit."))
    table.write(run.directory)
    degrees = list(range(1, args.max_degree + 1))
    results.plot_variants(
        {"Keras (Adam)": {"train MSE": [curve["train MSE"][d] for d in degrees],
                          "validation MSE": [curve["validation MSE"][d] for d in degrees]},
         "least squares": {"train MSE": [r["exact_train_mse"] for r in table.rows],
                           "validation MSE": [r["exact_val_mse"] for r in table.rows]}},
        run.path("u_curve.png"), keys=("train MSE", "validation MSE"), x="degree", log_y=True,
        title="bias (low degree) vs variance (high degree)")
    table.print()
    model, history = fits[picked["degree"]]
    test = tf.data.Dataset.from_tensor_slices(
        (features(x_test, picked["degree"]), y_test.astype("float32"))).batch(64)
    extra = {**table.to_dict(), "picked_degree": picked["degree"], "least_squares_degree": exact_pick["degree"]}
    return run.finish(model, history, test, None, extra=extra)


if __name__ == "__main__":
    runner.run_cli(main)
