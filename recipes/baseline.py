"""Baseline: a plain CNN, Adam at a fixed learning rate, no augmentation.

The reference every other recipe compares against: nothing clever, so any gain a later
recipe reports is a gain over this.

Run (defaults: scikit-learn's bundled digits, 30 epochs, about a minute on 2 cores):

    python recipes/baseline.py
    python recipes/baseline.py --dataset ../shared/data/cifar10_test.npz --epochs 10
    python recipes/baseline.py --config runs/baseline/<time>/config.json --seed 1

It writes config.json, model.keras, history.csv, metrics.json, curves.png and TensorBoard
logs into one folder per run (`--model-dir`, or runs/baseline/<time>) and prints the test
accuracy and that folder.
"""

import functools
import math

from kerasext import runner  # first: starts TensorFlow without its C++ log lines
import keras
from kerasext import data

DEFAULTS = dict(epochs=30, batch_size=64)
LEARNING_RATE = 1e-3
FILTERS = 32
# What `python recipes/sweep.py --recipe baseline` searches by default.
SEARCH_SPACE = {
    "learning-rate": {"double": [1e-4, 1e-2], "scale": "log"},
    "filters": {"discrete": [8, 16, 32, 64]},
}


def build_parser():
    parser = runner.make_parser("baseline", __doc__, kfold=True, **DEFAULTS)
    model = parser.add_argument_group("model")
    model.add_argument("--learning-rate", type=float, default=LEARNING_RATE, help="Adam's fixed learning rate")
    model.add_argument("--filters", type=runner.flags.width, default=FILTERS, help="filters in the first block")
    return parser


def check_args(args):
    if args.learning_rate <= 0:
        raise ValueError(f"`--learning-rate` must be > 0. Received: {args.learning_rate}")


def build_model(input_shape, num_classes, filters):
    """Conv-conv-pool blocks (doubling filters) while the image is 8 px or more, then a dense head."""
    inputs = keras.Input(input_shape)
    x = inputs
    if len(input_shape) == 3:
        blocks = max(1, min(3, int(math.log2(min(input_shape[:2]) / 2))))
        for block in range(blocks):
            for _ in range(2):
                x = keras.layers.Conv2D(filters * 2**block, 3, padding="same", activation="relu")(x)
            x = keras.layers.MaxPooling2D()(x)
        x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(128, activation="relu")(x)
    logits = keras.layers.Dense(num_classes)(x)
    outputs = keras.layers.Activation("softmax", dtype="float32")(logits)  # float32 under mixed precision
    return keras.Model(inputs, outputs, name="baseline_cnn")


def make_model(args, info):
    return build_model(info.input_shape, info.num_classes, args.filters)


def main(argv=None):
    args = runner.parse_args(build_parser(), argv)
    check_args(args)
    runner.setup(args)

    # Data
    train, validation, test, info = runner.load_data(args)

    # Model
    build = functools.partial(make_model, info=info)
    with runner.scope(args):  # the distribution strategy's scope, plus --remat
        probe = build(args)
        probe.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    data.check_targets(probe, train)  # before anything is written

    # Train: Adam at a fixed learning rate, nothing else. The run checkpoints every
    # --checkpoint-every steps (and writes history.csv and TensorBoard logs); after a kill,
    # the same command resumes at the batch it had reached.
    run = runner.start_run(args)  # or resume the unfinished run in --model-dir
    adam = functools.partial(keras.optimizers.Adam, args.learning_rate)
    result = runner.train_variants(args, {"baseline": runner.Variant(optimizer=adam)}, build, run=run,
                                   test=False)["baseline"]

    # Result
    return run.finish(result.model, result.history, test, info)


if __name__ == "__main__":
    runner.run_cli(main)
