"""Super-convergence: an LR range test, then one-cycle vs a fixed LR vs cosine annealing at
equal epochs, from the same initial weights.

The guide says a learning-rate range test finds the usable range, and that cyclical rates
and the one-cycle policy "achieve super-convergence". This recipe runs `kerasext.find_lr`
on the baseline CNN with SGD + momentum, takes its suggestion, then trains the same model
from the same weights with a fixed LR (Keras' default 0.01), and with a fixed LR, cosine
annealing (one-epoch warmup) and one-cycle (LR and momentum) each at the finder's suggestion
and at 10x it (super-convergence is about large peak rates), all for the same epochs, and reports the epochs and seconds each took to reach a target validation accuracy.

Run (defaults: digits, 7 variants x 12 epochs, about a minute on 2 cores):

    python recipes/super_convergence.py
    python recipes/super_convergence.py --target 0.98 --lr-suggestion steep --epochs 20
    python recipes/super_convergence.py --dataset ../shared/data/cifar10_test.npz --target 0.4

It writes the runner's files for the one-cycle variant, `lr_finder.png` (the range test),
`comparison.md` and `variants.png` (validation accuracy per epoch, overlaid), and records
the table and the finder's suggestions in metrics.json under `results`.
"""

import math

import kerasext
import keras
from kerasext import callbacks, data, models, results, runner, schedules

DEFAULTS = dict(epochs=12, batch_size=64)
TARGET = 0.97
MOMENTUM = 0.9
KERAS_DEFAULT_LR = 0.01
HIGH_LR_FACTOR = 10.0
SUGGESTIONS = ("valley", "steep", "minimum")
CLAIM = "an LR range test finds the range; the one-cycle policy achieves super-convergence"


def build_parser():
    parser = runner.make_parser("super_convergence", __doc__, **DEFAULTS)
    group = parser.add_argument_group("schedules")
    group.add_argument("--target", type=float, default=TARGET, help="validation accuracy to reach")
    group.add_argument("--lr-suggestion", default="valley", choices=SUGGESTIONS,
                       help="which LR finder suggestion the schedules use")
    group.add_argument("--finder-steps", type=runner.flags.positive_int, default=100,
                       help="steps of the LR range test")
    group.add_argument("--momentum", type=float, default=MOMENTUM, help="SGD momentum")
    group.add_argument("--high-lr-factor", type=float, default=HIGH_LR_FACTOR,
                       help="each schedule also runs at this multiple of the suggestion")
    return parser


def check_args(args):
    if not 0.0 < args.target <= 1.0:
        raise ValueError(f"`--target` must be in (0, 1]. Received: {args.target}")
    if not 0.0 <= args.momentum < 1.0:
        raise ValueError(f"`--momentum` must be in [0, 1). Received: {args.momentum}")
    if not args.high_lr_factor > 0:
        raise ValueError(f"`--high-lr-factor` must be > 0. Received: {args.high_lr_factor}")
    if args.finder_steps < 2:
        raise ValueError(f"`--finder-steps` must be >= 2. Received: {args.finder_steps}")


def main(argv=None):
    args = runner.parse_args(build_parser(), argv)
    check_args(args)
    runner.setup(args)
    train, validation, test, info = runner.load_data(args)
    steps_per_epoch = math.ceil(info.split_sizes["train"] / args.batch_size)
    total_steps = args.epochs * steps_per_epoch
    strategy = runner.strategy(args)
    with strategy.scope():
        model = models.build_model("cnn", info.input_shape, info.num_classes, seed=args.seed)
        model.compile(optimizer=keras.optimizers.SGD(KERAS_DEFAULT_LR, momentum=args.momentum),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    data.check_targets(model, train)  # before anything is written
    initial_weights = model.get_weights()

    run = runner.start_run(args)
    finder = kerasext.find_lr(model, train.repeat(), start_lr=1e-5, end_lr=10.0,
                              steps=args.finder_steps, plot_path=run.path("lr_finder.png"))
    lr = finder.suggestions.get(args.lr_suggestion) or KERAS_DEFAULT_LR
    print(f"LR finder suggestions: {finder.suggestions}; using {args.lr_suggestion} = {lr:.4g}")

    sgd = lambda rate: (lambda: keras.optimizers.SGD(rate, momentum=args.momentum))  # noqa: E731
    high = lr * args.high_lr_factor  # super-convergence is about large peak rates
    variants = {f"fixed {KERAS_DEFAULT_LR:g} (Keras default)": (sgd(KERAS_DEFAULT_LR), [])}
    for peak in (lr, high):
        variants[f"fixed {peak:.3g}"] = (sgd(peak), [])
    for peak in (lr, high):
        variants[f"cosine, peak {peak:.3g}"] = (sgd(schedules.WarmupCosine(
            peak, total_steps, warmup_steps=min(steps_per_epoch, total_steps - 1))), [])
    for peak in (lr, high):
        variants[f"one-cycle, peak {peak:.3g}"] = (
            sgd(peak), [callbacks.OneCycle(max_lr=peak, steps_per_epoch=steps_per_epoch)])
    table = results.Comparison(
        f"Schedules on {info.name}: SGD momentum {args.momentum:g}, {args.epochs} epochs, "
        f"target val accuracy {args.target:g}",
        [("epochs_to_target", "epochs to target", "d"), ("seconds_to_target", "seconds to target", ".1f"),
         ("best_val_accuracy", "best val accuracy"), ("test_accuracy", "test accuracy"),
         ("seconds", "seconds", ".1f")],
        claim=CLAIM, recipe="super_convergence",
        shows="LR range test, then one-cycle vs fixed LR vs cosine: epochs and seconds to a target",
        command=results.command_line("super_convergence", argv),
    )
    histories = {}
    for index, (name, (optimizer, extra)) in enumerate(variants.items()):
        last = index == len(variants) - 1  # one-cycle: its model and curves go into the run folder
        train = runner.load_data(args)[0]  # a fresh pipeline: every variant sees the same batches
        result = results.fit_variant(
            model, train, validation, epochs=args.epochs, initial_weights=initial_weights,
            optimizer=optimizer, loss="sparse_categorical_crossentropy", strategy=strategy,
            callbacks=[*extra, *(run.callbacks() if last else [])], test=test, target=args.target,
            seed=args.seed,
        )
        table.add(name, **result.metrics)
        histories[name] = result.history

    slow = args.epochs + 1  # "never reached" ranks after every epoch count
    speed = lambda rows: min((r["epochs_to_target"] or slow for r in rows), default=slow)  # noqa: E731
    cycles = [r for r in table.rows if r["variant"].startswith("one-cycle")]
    others = [r for r in table.rows if not r["variant"].startswith("one-cycle")]
    reached = [r for r in table.rows if r["epochs_to_target"] is not None]
    fastest = min(reached, key=lambda r: r["epochs_to_target"]) if reached else None
    name = lambda epochs: "never" if epochs == slow else f"in {epochs} epochs"  # noqa: E731
    table.note(f"LR finder ({finder.steps_requested} steps, {'diverged' if finder.diverged else 'no divergence'}): "
               + ", ".join(f"{k} {v:.3g}" for k, v in finder.suggestions.items() if v)
               + f"; the schedules use the {args.lr_suggestion} suggestion and {args.high_lr_factor:g}x it.")
    table.check_claim(speed(cycles) < speed(others), (
        f"the best one-cycle run reached {args.target:g} {name(speed(cycles))}, the best other "
        f"schedule {name(speed(others))}; the fastest was "
        f"{fastest['variant'] if fastest else 'none'}; best test accuracy: "
        f"{table.best('test_accuracy')['variant']}."))
    table.write(run.directory)
    results.plot_variants(histories, run.path("variants.png"), keys=("val_accuracy", "loss"), title=table.title)
    table.print()
    extra = {**table.to_dict(), "lr_finder": {"suggestions": finder.suggestions, "used": lr,
                                              "diverged": finder.diverged}}
    return run.finish(model, result.history, test, info, extra=extra)


if __name__ == "__main__":
    runner.run_cli(main)
