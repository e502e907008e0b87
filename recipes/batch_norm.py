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

import math

import kerasext  # noqa: F401  (first: starts TensorFlow without its C++ log lines)
import keras
from kerasext import data, models, results, runner

DEFAULTS = dict(epochs=10, batch_size=64)
DEPTH, WIDTH, MOMENTUM, TARGET = 8, 128, 0.9, 0.95
LEARNING_RATES = "0.003,0.01,0.03,0.1,0.3"
CLAIM = "batch normalization converges 14x faster and allows higher learning rates"


def build_parser():
    parser = runner.make_parser("batch_norm", __doc__, **DEFAULTS)
    group = parser.add_argument_group("batch norm")
    group.add_argument("--depth", type=runner.flags.positive_int, default=DEPTH, help="hidden layers")
    group.add_argument("--width", type=runner.flags.positive_int, default=WIDTH, help="units per layer")
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


def main(argv=None):
    args = runner.parse_args(build_parser(), argv)
    rates = check_args(args)
    runner.setup(args)
    train, validation, test, info = runner.load_data(args)
    steps_per_epoch = math.ceil(info.split_sizes["train"] / args.batch_size)
    strategy = runner.strategy(args)

    def build(batch_norm):  # the same seeds: the Dense kernels start identical
        with strategy.scope():
            return models.build_model("mlp", info.input_shape, info.num_classes, width=args.width,
                                      depth=args.depth, batch_norm=batch_norm, seed=args.seed)

    networks = {"without BN": build(False), "with BN": build(True)}
    networks["without BN"].compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    data.check_targets(networks["without BN"], train)  # before anything is written
    weights = {name: model.get_weights() for name, model in networks.items()}

    run = runner.start_run(args)
    table = results.Comparison(
        f"BatchNorm on a {args.depth}-layer MLP ({args.width} units), {info.name}: SGD momentum "
        f"{MOMENTUM:g}, {args.epochs} epochs ({steps_per_epoch} steps each), target val accuracy {args.target:g}",
        [("network", "network"), ("learning_rate", "learning rate", "g"), ("steps_to_target", "steps to target", "d"),
         ("seconds_to_target", "seconds to target", ".1f"), ("best_val_accuracy", "best val accuracy"),
         ("test_accuracy", "test accuracy")],
        claim=CLAIM, recipe="batch_norm",
        shows="a deep MLP with and without BatchNorm at the learning rates each tolerates: steps to a target",
        command=results.command_line("batch_norm", argv),
    )
    histories = {}
    count = len(networks) * len(rates)
    for index, (name, rate) in enumerate((n, r) for n in networks for r in rates):
        model = networks[name]
        last = index == count - 1
        result = results.fit_variant(
            model, runner.load_data(args)[0], validation, epochs=args.epochs, initial_weights=weights[name],
            optimizer=lambda: keras.optimizers.SGD(rate, momentum=MOMENTUM), strategy=strategy, seed=args.seed,
            loss="sparse_categorical_crossentropy", test=test, target=args.target,
            callbacks=[keras.callbacks.TerminateOnNaN(), *(run.callbacks() if last else [])],
        )
        epochs = result.metrics["epochs_to_target"]
        histories[f"{name}, lr {rate:g}"] = result.history
        table.add(f"{name}, lr {rate:g}", network=name, learning_rate=rate,
                  steps_to_target=epochs * steps_per_epoch if epochs else None, **result.metrics)

    best = {}
    for name in networks:
        reached = [r for r in table.rows if r["network"] == name and r["steps_to_target"]]
        best[name] = min(reached, key=lambda r: (r["steps_to_target"], -r["best_val_accuracy"])) if reached else None
    plain, normed = best["without BN"], best["with BN"]
    tolerated = {name: [r["learning_rate"] for r in table.rows if r["network"] == name and r["steps_to_target"]]
                 for name in networks}
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
    table.write(run.directory)
    results.plot_variants(histories, run.path("variants.png"), keys=("val_accuracy",), title="with and without BN")
    table.print()
    extra = {**table.to_dict(), "speedup": ratio}
    return run.finish(model, result.history, test, info, extra=extra)


if __name__ == "__main__":
    runner.run_cli(main)
