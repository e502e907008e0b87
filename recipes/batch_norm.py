"""Batch normalization: the same convolutional network with and without BatchNorm, each at
its own best learning rate from a grid; optimizer steps to a target accuracy.

The guide says batch normalization gives "the 14x improvement in convergence speed", "allows
for higher learning rates" and "reduces the need for careful initialization". (The 14x is
the Inception result of Ioffe & Szegedy, 2015: 14 times fewer training steps to the same
accuracy.) This recipe builds a small CNN (`kerasext.models.build_model("cnn")`: conv-conv-pool
blocks and a dense layer) twice from the same seeded weights, one with a BatchNormalization
layer before every activation (moving-statistics momentum 0.9), and trains each with SGD +
momentum at every learning rate of a grid, once per seed (`--seeds`, default 3). Every
`--eval-every` optimizer steps it evaluates validation accuracy (inference mode, the first
`--eval-examples` validation examples; `kerasext.runner.steps.StepEvaluation`) and stops a
run at the first evaluation that reaches `--target`, so steps are counted at that
granularity, not per epoch. It judges the 14x claim by the per-seed ratio of steps (without
BN / with BN, each network at the learning rate with the fewest mean steps over the seeds),
and "higher learning rates" by the per-seed ratio of the highest learning rate that reached
the target (with BN / without BN).

Run (defaults: digits, 2 conv blocks of 32 and 64 filters, 3 seeds x 2 networks x 5 learning
rates, at most 10 epochs of 23 steps, evaluated every 5 steps). Measured on this 2-core
machine: 4 min 6 s wall while other jobs kept its load average near 5.5, 135 s of CPU time.
Keras' tracing is most of it (about 3 s of CPU per run); the three runs that neither reach the
target nor turn NaN (no BN, lr 0.3 and 1) train the whole budget, about a tenth.

    python recipes/batch_norm.py
    python recipes/batch_norm.py --learning-rates 0.003,0.01,0.03,0.1,0.3,1,3 --eval-every 2 --target 0.97
    python recipes/batch_norm.py --dataset ../shared/data/cifar10_test.npz --target 0.35 --eval-every 20

On CIFAR-10 (8,000 training images: 125 steps an epoch) a step of the default 3-block CNN
took 0.3-0.4 s of CPU here and an evaluation of 500 examples 0.7 s, so the default grid takes
on the order of an hour; `--width 8 --seeds 1 --learning-rates 0.03 --epochs 1 --target 0.25
--eval-every 25` took 57 s.

It writes the runner's files for the first seed's last run, `comparison.md` and `variants.png`
(validation accuracy at every evaluation of every run of the first seed).
"""

import functools
import math

from kerasext import runner  # first: starts TensorFlow without its C++ log lines
import keras
from kerasext import data, models
from kerasext.runner import steps

DEFAULTS = dict(epochs=10, batch_size=64)
WIDTH, MOMENTUM, TARGET, EVAL_EVERY, EVAL_EXAMPLES = 32, 0.9, 0.95, 5, 500
# BatchNorm's moving statistics (what inference uses): PyTorch's default, 0.9 in Keras' terms.
# Keras' default 0.99 averages over about 100 steps, as long as these runs: evaluated in
# inference mode, the BN network then looks slower than its weights are (80 steps instead of
# 25 to 0.95 on digits, seed 0, lr 0.01).
BN_MOMENTUM = 0.9
LEARNING_RATES = "0.01,0.03,0.1,0.3,1"
NETWORKS = {"without BN": False, "with BN": True}
CLAIM = "batch normalization converges 14x faster and allows higher learning rates"


def build_parser():
    parser = runner.make_parser("batch_norm", __doc__, kfold=True, comparison=True, **DEFAULTS)
    group = parser.add_argument_group("batch norm")
    group.add_argument("--depth", type=runner.flags.depth, default=None,
                       help="conv blocks, each two convolutions and a 2x2 pool (default: 2 for 8x8 images, "
                       "3 from 16x16)")
    group.add_argument("--width", type=runner.flags.width, default=WIDTH,
                       help="filters of the first block (doubled every block)")
    group.add_argument("--learning-rates", default=LEARNING_RATES, help="comma-separated SGD rates to try")
    group.add_argument("--target", type=float, default=TARGET, help="validation accuracy to reach")
    group.add_argument("--eval-every", type=runner.flags.positive_int, default=EVAL_EVERY,
                       help="optimizer steps between two evaluations of validation accuracy")
    group.add_argument("--eval-examples", type=runner.flags.positive_int, default=EVAL_EXAMPLES,
                       help="validation examples evaluated (the first N of the split; all if fewer)")
    return parser


def check_args(args):
    try:
        rates = [float(v) for v in args.learning_rates.split(",") if v.strip()]
    except ValueError:
        rates = []
    if not rates or min(rates) <= 0 or not all(math.isfinite(r) for r in rates):
        raise ValueError("`--learning-rates` must be comma-separated numbers > 0 like 0.01,0.1. "
                         f"Received: {args.learning_rates!r}")
    if not 0.0 < args.target <= 1.0:
        raise ValueError(f"`--target` must be in (0, 1]. Received: {args.target}")
    return sorted(set(rates))


def check_depth(args, info):
    """`--depth` conv blocks must fit the images: each block halves the side."""
    if len(info.input_shape) != 3:
        raise ValueError(f"`--dataset` must hold images (height, width, channels) for a CNN. "
                         f"Received: {args.dataset!r} with input shape {tuple(info.input_shape)}")
    most = max(1, int(math.log2(min(info.input_shape[:2]))))
    if args.depth is not None and (args.depth > most or args.width * 2 ** (args.depth - 1) > runner.flags.MAX_WIDTH):
        raise ValueError(f"`--depth` must be <= {most} conv blocks for {info.input_shape[0]}x{info.input_shape[1]} "
                         f"images (each halves the side), and `--width` x 2^(depth - 1) <= {runner.flags.MAX_WIDTH} "
                         f"filters. Received: --depth {args.depth} --width {args.width}")


def make_model(args, info, batch_norm=False):
    """A small CNN; seeded, so both networks' Conv2D and Dense kernels start identical."""
    model = models.build_model("cnn", info.input_shape, info.num_classes, width=args.width,
                               depth=args.depth, batch_norm=batch_norm, seed=args.seed)
    for layer in model.layers:  # before the first fit traces `call` (and saved in the layer's config)
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = BN_MOMENTUM
    return model


def grid(rates):
    """`(name, network, learning rate)` of every run: each network at each rate."""
    return [(f"{network}, lr {rate:g}", network, rate) for network in NETWORKS for rate in rates]


def variants(args, rates):
    """name -> the variant: the network (with or without BN), SGD + momentum's learning rate,
    and a new `StepEvaluation` on this seed's validation examples that stops at the target."""
    x, y = steps.take_examples(runner.load_data(args)[1], args.eval_examples)
    return {name: runner.Variant(
        model={"batch_norm": NETWORKS[network]},
        optimizer=functools.partial(keras.optimizers.SGD, rate, momentum=MOMENTUM),
        callbacks=(steps.StepEvaluation(x, y, args.eval_every, args.target, stop_at_target=True),
                   keras.callbacks.TerminateOnNaN()),
    ) for name, network, rate in grid(rates)}


def measure(args, name, result):
    """Steps to the target from the run's `StepEvaluation`, and the steps it trained (the
    optimizer's count)."""
    evaluation = next(c for c in result.callbacks if isinstance(c, steps.StepEvaluation))
    return {"steps_to_target": evaluation.step_to_target, "seconds_to_target": evaluation.seconds_to_target,
            "best_eval_accuracy": evaluation.best_accuracy, "eval_examples": len(evaluation.x),
            "steps_trained": int(keras.ops.convert_to_numpy(result.model.optimizer.iterations))}


def comparison(args, info, argv, results, rates, steps_per_epoch, examples, blocks):
    """The table: one row per (network, learning rate), mean ± 95% CI over the seeds, and the
    claims judged (steps at each network's best rate; the highest rate that reached the target)."""
    budget = args.epochs * steps_per_epoch
    never = steps.next_evaluation(budget, args.eval_every)  # never reached: the next evaluation
    table = runner.Comparison(
        f"BatchNorm on a {blocks}-block CNN ({args.width} filters first), {info.name}: SGD momentum {MOMENTUM:g}, "
        f"at most {budget} steps ({args.epochs} epoch{'s' * (args.epochs != 1)} of {steps_per_epoch}), "
        f"validation accuracy every {args.eval_every} steps on {examples} examples, target {args.target:g}",
        [("network", "network"), ("learning_rate", "learning rate", "g"), ("steps_to_target", "steps to target", "d"),
         ("seconds_to_target", "seconds to target", ".1f"), ("best_eval_accuracy", "best val accuracy"),
         ("test_accuracy", "test accuracy at stop")],
        claim=CLAIM, recipe="batch_norm", seeds=results.seeds,
        shows="a small CNN with and without BatchNorm, each at its best learning rate of a grid: "
              "optimizer steps to a target",
        command=runner.command_line("batch_norm", argv),
    )
    for name, network, rate in grid(rates):
        table.add_seeds(name, results.metrics(name), network=network, learning_rate=rate)
    table.add_effect("steps_to_target", lambda row: f"without BN, lr {row['learning_rate']:g}"
                     if row["network"] == "with BN" else None, header="steps with / without BN (same lr)",
                     ratio=True, missing=never)

    def mean_steps(row):
        return sum(table.values(row["variant"], "steps_to_target", never)) / len(results.seeds)

    best = {n: min((r for r in table.rows if r["network"] == n), key=mean_steps) for n in NETWORKS}
    highest = {n: [max((r["learning_rate"] for r in table.rows if r["network"] == n
                        and r["seeds"]["steps_to_target"][i] is not None), default=None)
                   for i in range(len(results.seeds))] for n in NETWORKS}
    table.note(f"Steps are optimizer steps at the first evaluation (every {args.eval_every} steps) whose "
               f"validation accuracy reached the target; the run stopped there, so its test accuracy is the "
               "stopped model's, and its seconds are wall seconds from the start of `fit` (Keras' tracing and "
               f"the evaluations included). A ratio of steps can range from 1/{never // args.eval_every} to "
               f"{never // args.eval_every}x here.")
    table.note(f"A run that never reached the target counts as {never} steps (a lower bound). Each network's "
               f"best learning rate: without BN {best['without BN']['learning_rate']:g}, with BN "
               f"{best['with BN']['learning_rate']:g} (fewest mean steps over the seeds, chosen on the same runs "
               "it is judged on). Highest rate that reached the target, per seed: "
               + "; ".join(f"{n}: {', '.join('—' if r is None else f'{r:g}' for r in rs)}"
                           for n, rs in highest.items()) + ".")
    table.judge("steps_to_target", best["with BN"]["variant"], best["without BN"]["variant"], ratio=True,
                claimed=14.0, missing=never, label=f"steps without BN (lr {best['without BN']['learning_rate']:g}) "
                f"/ with BN (lr {best['with BN']['learning_rate']:g})")
    table.judge("learning_rate", highest["without BN"], highest["with BN"], ratio=True,
                label="highest learning rate that reached the target, with BN / without BN")
    return table


def main(argv=None):
    args = runner.parse_args(build_parser(), argv)
    rates = check_args(args)
    runner.setup(args)

    # Data
    train, validation, test, info = runner.load_data(args)
    check_depth(args, info)
    steps_per_epoch = math.ceil(info.split_sizes["train"] / args.batch_size)

    # Model
    build = functools.partial(make_model, info=info)
    with runner.scope(args):
        probe = build(args)
        probe.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    data.check_targets(probe, train)  # before anything is written

    # Train with and without: per seed, each network from its seeded weights, at every learning rate
    run = runner.start_run(args)  # the first seed's last run is the run's: checkpointed, resumable
    results = runner.train_seeds(args, lambda seeded: variants(seeded, rates), build, run=run, measure=measure)

    # Result
    first = results.first
    examples = first[next(iter(first))].metrics["eval_examples"]
    blocks = sum(isinstance(layer, keras.layers.Conv2D) for layer in probe.layers) // 2  # two convolutions each
    table = comparison(args, info, argv, results, rates, steps_per_epoch, examples, blocks)
    table.write(run.directory)
    curves = {name: {"val_accuracy": next(c for c in result.callbacks if isinstance(c, steps.StepEvaluation)).accuracy}
              for name, result in first.items()}
    runner.plot_variants(curves, run.path("variants.png"), keys=("val_accuracy",), title="with and without BN",
                         x=f"evaluation (every {args.eval_every} optimizer steps)")
    table.print()
    last = first[list(first)[-1]]
    speedup = table.judgments[0]["effect"]  # steps without BN / with BN: mean and 95% CI
    return run.finish(last.model, last.history, test, info, extra={**table.to_dict(), "speedup": speedup})


if __name__ == "__main__":
    runner.run_cli(main)
