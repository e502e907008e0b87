"""Batch normalization: the same deep network with and without BatchNorm, each at the
learning rates it tolerates; steps to a target accuracy.

The guide says batch normalization gives "the 14x improvement in convergence speed", "allows
for higher learning rates" and "reduces the need for careful initialization". (The 14x is
the Inception result of Ioffe & Szegedy, 2015: 14 times fewer training steps to the same
accuracy.) This recipe builds a deep MLP twice from the same seeded weights, one with a
BatchNormalization layer before every activation, trains each with SGD + momentum at a range
of learning rates, and reports the training steps each needed to reach a target validation
accuracy at its best learning rate, and the ratio.

Run (defaults: digits, 8-layer MLP, 2 networks x 5 learning rates x 10 epochs, about a minute):

    python recipes/batch_norm.py
    python recipes/batch_norm.py --depth 16 --learning-rates 0.003,0.01,0.03,0.1,0.3,1 --target 0.95
    python recipes/batch_norm.py --dataset ../shared/data/cifar10_test.npz --target 0.3

It writes the runner's files for the last run, `comparison.md` and `variants.png`
(validation accuracy per epoch of every run).
"""

import functools
import math

from kerasext import runner  # first: starts TensorFlow without its C++ log lines
import keras
from kerasext import data, models

DEFAULTS = dict(epochs=10, batch_size=64)
DEPTH, WIDTH, MOMENTUM, TARGET = 8, 128, 0.9, 0.95
LEARNING_RATES = "0.003,0.01,0.03,0.1,0.3"
NETWORKS = {"without BN": False, "with BN": True}
CLAIM = "batch normalization converges 14x faster and allows higher learning rates"


def build_parser():
    parser = runner.make_parser("batch_norm", __doc__, kfold=True, **DEFAULTS)
    group = parser.add_argument_group("batch norm")
    group.add_argument("--depth", type=runner.flags.depth, default=DEPTH, help="hidden layers")
    group.add_argument("--width", type=runner.flags.width, default=WIDTH, help="units per layer")
    group.add_argument("--learning-rates", default=LEARNING_RATES, help="comma-separated SGD rates to try")
    group.add_argument("--target", type=float, default=TARGET, help="validation accuracy to reach")
    return parser


def check_args(args):
    try:
        rates = [float(v) for v in args.learning_rates.split(",") if v.strip()]
    except ValueError:
        rates = []
    if not rates or min(rates) <= 0:
        raise ValueError("`--learning-rates` must be comma-separated numbers > 0 like 0.01,0.1. "
                         f"Received: {args.learning_rates!r}")
    if not 0.0 < args.target <= 1.0:
        raise ValueError(f"`--target` must be in (0, 1]. Received: {args.target}")
    return sorted(set(rates))


def make_model(args, info, batch_norm=False):
    """A deep MLP; seeded, so both networks' Dense kernels start identical."""
    return models.build_model("mlp", info.input_shape, info.num_classes, width=args.width,
                              depth=args.depth, batch_norm=batch_norm, seed=args.seed)


def grid(rates):
    """`(name, network, learning rate)` of every run: each network at each rate."""
    return [(f"{network}, lr {rate:g}", network, rate) for network in NETWORKS for rate in rates]


def variants(rates):
    """name -> the variant: the network (with or without BN) and SGD + momentum's learning rate."""
    return {name: runner.Variant(
        model={"batch_norm": NETWORKS[network]},
        optimizer=functools.partial(keras.optimizers.SGD, rate, momentum=MOMENTUM),
        callbacks=(keras.callbacks.TerminateOnNaN(),),
    ) for name, network, rate in grid(rates)}


def comparison(args, info, argv, results, rates, steps_per_epoch):
    """The table: one row per (network, learning rate), and what the rows say about the claim."""
    table = runner.Comparison(
        f"BatchNorm on a {args.depth}-layer MLP ({args.width} units), {info.name}: SGD momentum "
        f"{MOMENTUM:g}, {args.epochs} epochs ({steps_per_epoch} steps each), target val accuracy {args.target:g}",
        [("network", "network"), ("learning_rate", "learning rate", "g"), ("steps_to_target", "steps to target", "d"),
         ("seconds_to_target", "seconds to target", ".1f"), ("best_val_accuracy", "best val accuracy"),
         ("test_accuracy", "test accuracy")],
        claim=CLAIM, recipe="batch_norm",
        shows="a deep MLP with and without BatchNorm at the learning rates each tolerates: steps to a target",
        command=runner.command_line("batch_norm", argv),
    )
    for name, network, rate in grid(rates):
        metrics = results[name].metrics
        epochs = metrics["epochs_to_target"]
        table.add(name, network=network, learning_rate=rate,
                  steps_to_target=epochs * steps_per_epoch if epochs else None, **metrics)
    best = {}
    for name in NETWORKS:
        reached = [r for r in table.rows if r["network"] == name and r["steps_to_target"]]
        best[name] = min(reached, key=lambda r: (r["steps_to_target"], -r["best_val_accuracy"])) if reached else None
    plain, normed = best["without BN"], best["with BN"]
    tolerated = {name: [r["learning_rate"] for r in table.rows if r["network"] == name and r["steps_to_target"]]
                 for name in NETWORKS}
    table.note("Steps are counted at epoch ends (the first epoch whose validation accuracy reached the "
               f"target), so they come in multiples of {steps_per_epoch}.")
    table.note("Learning rates that reached the target: " + "; ".join(
        f"{n}: {', '.join(f'{r:g}' for r in rs) or 'none'}" for n, rs in tolerated.items()) + ".")
    if plain and normed:
        ratio = plain["steps_to_target"] / normed["steps_to_target"]
        highest = {n: max(rs, default=None) for n, rs in tolerated.items()}
        measured = (f"BN reached the target at learning rates up to {highest['with BN']:g}, without BN up to "
                    f"{highest['without BN']:g}; at its best rate, without BN took {plain['steps_to_target']} steps "
                    f"(lr {plain['learning_rate']:g}), with BN {normed['steps_to_target']} "
                    f"(lr {normed['learning_rate']:g}): a speed-up of {ratio:.1f}x (steps without / steps with), not 14x.")
        holds = ratio >= 14
    else:
        ratio = None
        measured = (f"without BN {'never' if not plain else 'did'} reach the target; with BN "
                    f"{'never' if not normed else 'did'}.")
        holds = bool(normed and not plain)
    table.check_claim(holds, measured)
    return table, ratio


def main(argv=None):
    args = runner.parse_args(build_parser(), argv)
    rates = check_args(args)
    runner.setup(args)

    # Data
    train, validation, test, info = runner.load_data(args)
    steps_per_epoch = math.ceil(info.split_sizes["train"] / args.batch_size)

    # Model
    build = functools.partial(make_model, info=info)
    with runner.scope(args):
        probe = build(args)
        probe.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    data.check_targets(probe, train)  # before anything is written

    # Train with and without: each network from its seeded weights, at every learning rate
    run = runner.start_run(args)  # the last run is the run's: checkpointed, resumable
    results = runner.train_variants(args, variants(rates), build, run=run, target=args.target)

    # Result
    table, ratio = comparison(args, info, argv, results, rates, steps_per_epoch)
    table.write(run.directory)
    histories = {name: result.history for name, result in results.items()}
    runner.plot_variants(histories, run.path("variants.png"), keys=("val_accuracy",), title="with and without BN")
    table.print()
    last = results[list(results)[-1]]
    return run.finish(last.model, last.history, test, info, extra={**table.to_dict(), "speedup": ratio})


if __name__ == "__main__":
    runner.run_cli(main)
