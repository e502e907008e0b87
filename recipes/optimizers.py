"""Optimizers: SGD, SGD with momentum, SGD + Nesterov, RMSprop, Adam and AdamW on one model,
from the same initial weights, curves overlaid.

The guide says Adam, combining momentum with adaptive learning rates, is "highly effective",
that Nesterov momentum "reduces oscillations and speeds up convergence", and that AdamW
"improves weight decay, enhancing performance". This recipe trains the baseline CNN with each
optimizer at its customary learning rate for the same epochs, from the same weights on the
same batches, once per seed (`--seeds`, default 3), and reports the epochs and seconds to a
target validation accuracy, the best validation accuracy and the test accuracy (mean ± 95% CI
over the seeds), then judges each claim by its paired effect: Adam against plain SGD in
epochs and in seconds, Nesterov against plain momentum in epochs, AdamW against Adam in test
accuracy.

Run (defaults: digits, 3 seeds x 6 optimizers x 8 epochs, about a minute and a half on 2 cores):

    python recipes/optimizers.py
    python recipes/optimizers.py --sgd-lr 0.05 --adam-lr 3e-3 --target 0.98 --seeds 5
    python recipes/optimizers.py --dataset ../shared/data/cifar10_test.npz --target 0.4

It writes the runner's files for the last optimizer (AdamW) of the first seed, `comparison.md`
and `variants.png` (validation accuracy and training loss of every optimizer, first seed).
"""

import functools

from kerasext import runner  # first: starts TensorFlow without its C++ log lines
import keras
from kerasext import data, models

DEFAULTS = dict(epochs=8, batch_size=64)  # 12 before --seeds (issue 16)
SGD_LR, ADAM_LR, MOMENTUM, WEIGHT_DECAY, TARGET = 0.01, 1e-3, 0.9, 1e-2, 0.97
CLAIM = ("Adam is highly effective; Nesterov momentum speeds up convergence; AdamW improves "
         "weight decay")


def build_parser():
    parser = runner.make_parser("optimizers", __doc__, kfold=True, comparison=True, **DEFAULTS)
    group = parser.add_argument_group("optimizers")
    group.add_argument("--width", type=runner.flags.width, default=32,
                       help="filters of the CNN's first block, doubled each block (default 32)")
    group.add_argument("--sgd-lr", type=float, default=SGD_LR, help="learning rate of the SGD family")
    group.add_argument("--adam-lr", type=float, default=ADAM_LR, help="learning rate of RMSprop, Adam, AdamW")
    group.add_argument("--momentum", type=float, default=MOMENTUM)
    group.add_argument("--weight-decay", type=float, default=WEIGHT_DECAY, help="AdamW's decoupled decay")
    group.add_argument("--target", type=float, default=TARGET, help="validation accuracy to reach")
    return parser


def check_args(args):
    for flag in ("sgd_lr", "adam_lr"):
        if not getattr(args, flag) > 0:
            raise ValueError(f"`--{flag.replace('_', '-')}` must be > 0. Received: {getattr(args, flag)}")
    if not 0.0 <= args.momentum < 1.0:
        raise ValueError(f"`--momentum` must be in [0, 1). Received: {args.momentum}")
    if args.weight_decay < 0:
        raise ValueError(f"`--weight-decay` must be >= 0. Received: {args.weight_decay}")
    if not 0.0 < args.target <= 1.0:
        raise ValueError(f"`--target` must be in (0, 1]. Received: {args.target}")


def make_model(args, info):
    """The baseline CNN; seeded, so every optimizer starts from the same weights."""
    return models.build_model("cnn", info.input_shape, info.num_classes, width=args.width, seed=args.seed)


def variants(args):
    """name -> the variant: only the optimizer changes (made afresh inside the run's scope)."""
    sgd, adam, m = args.sgd_lr, args.adam_lr, args.momentum
    SGD, RMSprop, Adam, AdamW = (keras.optimizers.SGD, keras.optimizers.RMSprop, keras.optimizers.Adam,
                                 keras.optimizers.AdamW)
    return {
        f"SGD {sgd:g}": runner.Variant(optimizer=functools.partial(SGD, sgd)),
        f"SGD {sgd:g}, momentum {m:g}": runner.Variant(optimizer=functools.partial(SGD, sgd, momentum=m)),
        f"SGD {sgd:g}, Nesterov {m:g}": runner.Variant(
            optimizer=functools.partial(SGD, sgd, momentum=m, nesterov=True)),
        f"RMSprop {adam:g}": runner.Variant(optimizer=functools.partial(RMSprop, adam)),
        f"Adam {adam:g}": runner.Variant(optimizer=functools.partial(Adam, adam)),
        f"AdamW {adam:g}, decay {args.weight_decay:g}": runner.Variant(
            optimizer=functools.partial(AdamW, adam, weight_decay=args.weight_decay)),
    }


def comparison(args, info, argv, results):
    """The table: one row per optimizer (mean ± 95% CI over the seeds), and each claim judged."""
    table = runner.Comparison(
        f"Optimizers on {info.name}: baseline CNN, {args.epochs} epochs, target val accuracy {args.target:g}",
        [("epochs_to_target", "epochs to target", "d"), ("seconds_to_target", "seconds to target", ".1f"),
         ("loss", "final train loss"), ("best_val_accuracy", "best val accuracy"),
         ("test_accuracy", "test accuracy")],
        claim=CLAIM, recipe="optimizers", seeds=results.seeds,
        shows="SGD, momentum, Nesterov, RMSprop, Adam, AdamW on one model: epochs and seconds to target, "
        "test accuracy",
        command=runner.command_line("optimizers", argv),
    )
    for name in results.runs:
        table.add_seeds(name, results.metrics(name))
    plain, momentum, nesterov, _, adam, adamw = (row["variant"] for row in table.rows)
    never = args.epochs + 1  # a run that never reached the target took more than every epoch
    table.add_effect("epochs_to_target", plain, missing=never)
    table.note("Epochs to target counts the first epoch whose validation accuracy reached it; '—' means "
               f"never within the run. In the effects and verdicts a run that never reached it counts as "
               f"{never} epochs and its whole training time: lower bounds, so they understate a gap.")
    table.judge("epochs_to_target", plain, adam, direction=-1, missing=never)
    table.judge("seconds_to_target", plain, adam, direction=-1, missing="seconds")
    table.judge("epochs_to_target", momentum, nesterov, direction=-1, missing=never)
    table.judge("test_accuracy", adam, adamw)
    return table


def main(argv=None):
    args = runner.parse_args(build_parser(), argv)
    check_args(args)
    runner.setup(args)

    # Data
    train, validation, test, info = runner.load_data(args)

    # Model
    build = functools.partial(make_model, info=info)
    with runner.scope(args):
        probe = build(args)
        probe.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    data.check_targets(probe, train)  # before anything is written

    # Train with and without: per seed the same weights, the same batches, another optimizer
    run = runner.start_run(args)  # the first seed's last variant (AdamW) is the run's: checkpointed, resumable
    results = runner.train_seeds(args, variants, build, run=run, target=args.target)

    # Result
    table = comparison(args, info, argv, results)
    table.write(run.directory)
    first = results.first  # the first seed's runs: the run records its last variant
    histories = {name: result.history for name, result in first.items()}
    runner.plot_variants(histories, run.path("variants.png"), keys=("val_accuracy", "loss"), title=table.title)
    table.print()
    last = first[list(first)[-1]]
    return run.finish(last.model, last.history, test, info, extra=table.to_dict())


if __name__ == "__main__":
    runner.run_cli(main)
