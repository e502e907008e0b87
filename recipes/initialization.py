"""Initialization: zeros, small normal, Glorot and He on a deep tanh MLP and a deep ReLU MLP,
with per-layer activation and gradient spread at step 0, and accuracy after training.

The guide says Glorot (Xavier) initialization suits tanh and sigmoid, He initialization suits
ReLU, and that the right choice "prevents vanishing or exploding gradients". This recipe
builds a 12-hidden-layer MLP with each activation and each initializer (same seeds),
measures the standard deviation of every layer's activations and of every kernel's gradient
on one batch before any update (first seed), then trains each for the same epochs with SGD +
momentum, once per seed (`--seeds`, default 3), and reports test accuracy as the mean ± 95% CI
over the seeds with its paired difference to the pick. `kerasext.initializers.for_activation(name)`
(He for the ReLU family, Glorot for tanh and sigmoid, LeCun for SELU) is the pick marked in the
table. It judges the claim by test accuracy: Glorot minus He on tanh, He minus Glorot on ReLU.

Run (defaults: digits, 3 seeds x 2 activations x 4 initializers x 10 epochs, about 2 minutes on 2 cores):

    python recipes/initialization.py
    python recipes/initialization.py --depth 20 --epochs 20
    python recipes/initialization.py --dataset ../shared/data/cifar10_test.npz

It writes the runner's files for the first seed's last variant, `comparison.md`, `layer_stats.png`
(activation and gradient standard deviation per layer at step 0, log scale) and
`variants.png` (validation accuracy per epoch of the first seed).
"""

import functools

import numpy as np

from kerasext import runner  # first: starts TensorFlow without its C++ log lines
import tensorflow as tf
import keras
from kerasext import data, initializers, models

DEFAULTS = dict(epochs=10, batch_size=64)
DEPTH, WIDTH, LEARNING_RATE, MOMENTUM = 12, 64, 0.01, 0.9
ACTIVATIONS = ("tanh", "relu")
INITIALIZERS = {
    "zeros": "Zeros",
    "small normal (0.01)": {"class_name": "RandomNormal", "config": {"stddev": 0.01}},
    "Glorot": "GlorotUniform",
    "He": "HeNormal",
}
CLAIM = "Glorot suits tanh/sigmoid, He suits ReLU; the right one prevents vanishing or exploding gradients"


def build_parser():
    parser = runner.make_parser("initialization", __doc__, kfold=True, comparison=True, **DEFAULTS)
    group = parser.add_argument_group("initialization")
    group.add_argument("--depth", type=runner.flags.depth, default=DEPTH, help="hidden layers (>= 10)")
    group.add_argument("--width", type=runner.flags.width, default=WIDTH, help="units per hidden layer")
    group.add_argument("--learning-rate", type=float, default=LEARNING_RATE, help="SGD's learning rate")
    return parser


def check_args(args):
    if args.depth < 2:
        raise ValueError(f"`--depth` must be >= 2 (the recipe is about deep nets). Received: {args.depth}")
    if not args.learning_rate > 0:
        raise ValueError(f"`--learning-rate` must be > 0. Received: {args.learning_rate}")


def make_model(args, info, activation="relu", kernel_initializer="auto"):
    """A deep MLP; the same seeds for every variant."""
    return models.build_model("mlp", info.input_shape, info.num_classes, width=args.width, depth=args.depth,
                              activation=activation, kernel_initializer=kernel_initializer, seed=args.seed)


def variants(args):
    """name -> the variant: the activation and the initializer; SGD + momentum for all."""
    sgd = functools.partial(keras.optimizers.SGD, args.learning_rate, momentum=MOMENTUM)
    return {f"{activation} / {name}": runner.Variant(
        model={"activation": activation, "kernel_initializer": initializer}, optimizer=sgd)
        for activation in ACTIVATIONS for name, initializer in INITIALIZERS.items()}


def layer_stats(model, images, labels):
    """Standard deviation of each hidden layer's output and of each hidden kernel's gradient."""
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)][:-1]
    probe = keras.Model(model.inputs, [layer.output for layer in dense])
    activations = [float(np.std(a)) for a in probe(images)]
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    with tf.GradientTape() as tape:
        loss = loss_fn(labels, model(images, training=True))
    grads = tape.gradient(loss, [layer.kernel for layer in dense])
    return {"activation_std": activations, "gradient_std": [float(np.std(g)) for g in grads]}


def comparison(args, info, argv, results, stats):
    """The table: step-0 spread (first seed) and test accuracy (mean ± 95% CI over the seeds) per
    variant, and the claim judged for tanh and for ReLU."""
    table = runner.Comparison(
        f"Initialization of a {args.depth}-layer MLP ({args.width} units) on {info.name}: "
        f"step-0 statistics and accuracy after {args.epochs} epochs (SGD {args.learning_rate:g}, momentum {MOMENTUM:g})",
        [("pick", "kerasext pick"), ("first_activation_std", "act. std layer 1"),
         ("last_activation_std", f"act. std layer {args.depth}"),
         ("first_gradient_std", "grad std layer 1"), ("last_gradient_std", f"grad std layer {args.depth}"),
         ("test_accuracy", "test accuracy")],
        claim=CLAIM, recipe="initialization", seeds=results.seeds,
        shows="zeros / small normal / Glorot / He on deep tanh and ReLU MLPs: per-layer spread and accuracy",
        command=runner.command_line("initialization", argv),
    )
    picks = {}
    for name in results.runs:
        activation, init_name = name.split(" / ")
        initializer = INITIALIZERS[init_name]
        pick = initializers.initializer_name(activation) == (initializer if isinstance(initializer, str) else "")
        if pick:
            picks[activation] = name
        s = stats[name]
        table.add_seeds(name, results.metrics(name), pick=pick, first_activation_std=s["activation_std"][0],
                        last_activation_std=s["activation_std"][-1], first_gradient_std=s["gradient_std"][0],
                        last_gradient_std=s["gradient_std"][-1], **s)
    table.add_effect("test_accuracy", lambda row: picks.get(row["variant"].split(" / ")[0]),
                     header="test accuracy − the pick")

    def spread_change(r):  # how far the activation spread moves from layer 1 to the last
        return abs(np.log(r["last_activation_std"] / r["first_activation_std"]))

    table.note(f"Step-0 statistics are the first seed's (seed {results.seeds[0]}), on one batch.")
    for activation, right, wrong in (("tanh", "Glorot", "He"), ("relu", "He", "Glorot")):
        good, other = table.row(f"{activation} / {right}"), table.row(f"{activation} / {wrong}")
        steadier = spread_change(good) <= spread_change(other)
        table.note(f"{activation}: {right} keeps the activation spread from layer 1 to {args.depth} "
                   f"{'steadier' if steadier else 'less steady'} than {wrong} "
                   f"({good['first_activation_std']:.3g} -> {good['last_activation_std']:.3g} vs "
                   f"{other['first_activation_std']:.3g} -> {other['last_activation_std']:.3g}).")
    table.note("Zeros: every unit of a layer computes the same thing (symmetry is never broken).")
    for activation, right, wrong in (("tanh", "Glorot", "He"), ("relu", "He", "Glorot")):
        table.judge("test_accuracy", f"{activation} / {wrong}", f"{activation} / {right}")
    return table


def main(argv=None):
    args = runner.parse_args(build_parser(), argv)
    check_args(args)
    runner.setup(args)

    # Data
    train, validation, test, info = runner.load_data(args)
    images, labels = next(iter(train))  # one batch for the step-0 statistics

    # Model: every variant's spread of activations and gradients at step 0, before any update
    build = functools.partial(make_model, info=info)
    choices = variants(args)
    with runner.scope(args):
        probe = build(args)
        probe.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        built = {name: build(args, **variant.model) for name, variant in choices.items()}
    data.check_targets(probe, train)  # before anything is written
    stats = {name: layer_stats(model, images, labels) for name, model in built.items()}

    # Train with and without: per seed, each (activation, initializer) from its seeded weights
    run = runner.start_run(args)  # the first seed's last variant is the run's: checkpointed, resumable
    results = runner.train_seeds(args, variants, build, run=run)

    # Result
    table = comparison(args, info, argv, results, stats)
    table.write(run.directory)
    runner.plot_variants(stats, run.path("layer_stats.png"), keys=("activation_std", "gradient_std"),
                         title="step 0, one batch", x="layer", log_y=True)
    first = results.first
    histories = {name: result.history for name, result in first.items()}
    runner.plot_variants(histories, run.path("variants.png"), keys=("val_accuracy",), title=table.title[:60])
    table.print()
    last = first[list(first)[-1]]
    return run.finish(last.model, last.history, test, info, extra=table.to_dict())


if __name__ == "__main__":
    runner.run_cli(main)
