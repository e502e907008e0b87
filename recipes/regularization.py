"""Regularization: L1, L2, AdamW's decoupled weight decay, dropout, batch norm and early
stopping, on a training set small enough to overfit.

The guide says L1 and L2 "reduce the error on unseen data by penalizing large weights",
that dropout enhances generalization, and that early stopping "prevents the model from
overfitting". This recipe trains an MLP on a deliberately small training split (15% of the
data; the test split is 70%, so one example is a small step of accuracy), once plainly and
once with each technique, every variant from the same seeded initial weights, once per seed
(`--seeds`, default 3), and records test accuracy, the train/test gap and the learning-curve
diagnosis of each (mean ± 95% CI over the seeds) with its paired difference to no
regularization. It judges each technique the claim names (L1, L2, dropout, batch norm, early
stopping) by its effect on test accuracy.

Run (defaults: digits, 3 seeds x 8 variants x 40 epochs, about 2 minutes on 2 cores):

    python recipes/regularization.py
    python recipes/regularization.py --l2 1e-2 --dropout 0.5 --epochs 100
    python recipes/regularization.py --dataset ../shared/data/cifar10_test.npz --split 0.2,0.1,0.7

It writes the runner's files for the first seed's last variant, `comparison.md`, and
`variants.png` (validation and training loss of every variant of the first seed, overlaid), and
records the table (with each variant's diagnosis verdicts) in metrics.json under `results`.
"""

import functools

from kerasext import runner  # first: starts TensorFlow without its C++ log lines
import keras
from kerasext import data, models

DEFAULTS = dict(epochs=40, batch_size=32, split=(0.15, 0.15, 0.7))  # a small training set; 60 epochs before --seeds
LEARNING_RATE = 1e-3
WIDTH = 256
L1, L2, WEIGHT_DECAY, DROPOUT, PATIENCE = 1e-4, 1e-3, 0.05, 0.5, 8
CLAIM = "L1/L2, dropout, batch norm and early stopping reduce overfitting and the error on unseen data"


def build_parser():
    parser = runner.make_parser("regularization", __doc__, kfold=True, comparison=True, **DEFAULTS)
    group = parser.add_argument_group("regularization")
    group.add_argument("--learning-rate", type=float, default=LEARNING_RATE, help="Adam's learning rate")
    group.add_argument("--width", type=runner.flags.width, default=WIDTH, help="units per hidden layer")
    group.add_argument("--l1", type=float, default=L1, help="L1 kernel penalty of the L1 variant")
    group.add_argument("--l2", type=float, default=L2, help="L2 kernel penalty of the L2 variant")
    group.add_argument("--weight-decay", type=float, default=WEIGHT_DECAY, help="AdamW's decoupled decay")
    group.add_argument("--dropout", type=float, default=DROPOUT, help="dropout rate of the dropout variant")
    group.add_argument("--patience", type=runner.flags.positive_int, default=PATIENCE,
                       help="early stopping: epochs without a better val_loss")
    return parser


def check_args(args):
    for flag in ("learning_rate", "l1", "l2", "weight_decay"):
        if not getattr(args, flag) > 0:
            raise ValueError(f"`--{flag.replace('_', '-')}` must be > 0. Received: {getattr(args, flag)}")
    if not 0.0 < args.dropout < 1.0:
        raise ValueError(f"`--dropout` must be in (0, 1). Received: {args.dropout}")


def make_model(args, info, **options):
    """An MLP; seeded, so every variant starts from the same weights whatever its regularization."""
    return models.build_model("mlp", info.input_shape, info.num_classes, width=args.width, seed=args.seed,
                              **options)


def early_stopping(args):
    return keras.callbacks.EarlyStopping(monitor="val_loss", patience=args.patience, restore_best_weights=True)


def variants(args):
    """name -> the variant: model options, the optimizer, early stopping."""
    adam = functools.partial(keras.optimizers.Adam, args.learning_rate)
    adamw = functools.partial(keras.optimizers.AdamW, args.learning_rate, weight_decay=args.weight_decay)
    return {
        "none": runner.Variant(optimizer=adam),
        f"L1 {args.l1:g}": runner.Variant(model={"l1": args.l1}, optimizer=adam),
        f"L2 {args.l2:g}": runner.Variant(model={"l2": args.l2}, optimizer=adam),
        f"AdamW decay {args.weight_decay:g}": runner.Variant(optimizer=adamw),
        f"dropout {args.dropout:g}": runner.Variant(model={"dropout": args.dropout}, optimizer=adam),
        "batch norm": runner.Variant(model={"batch_norm": True}, optimizer=adam),
        f"early stopping ({args.patience})": runner.Variant(optimizer=adam, callbacks=(early_stopping(args),)),
        "dropout + L2 + early stopping": runner.Variant(
            model={"dropout": args.dropout, "l2": args.l2}, optimizer=adam, callbacks=(early_stopping(args),)),
    }


def comparison(args, info, argv, results):
    """The table: one row per variant (mean ± 95% CI over the seeds) with its diagnosis and its
    paired difference to no regularization, and each technique of the claim judged."""
    table = runner.Comparison(
        f"Regularization on {info.name}: {info.split_sizes['train']} training examples, "
        f"MLP {args.width}x2, {args.epochs} epochs",
        [("test_accuracy", "test accuracy"), ("train_eval_accuracy", "train accuracy (no dropout)"),
         ("generalization_gap", "train − test gap"), ("val_loss", "final val loss"), ("epochs", "epochs run", "d"),
         ("verdict", "learning-curve verdict")],
        claim=CLAIM, recipe="regularization", seeds=results.seeds,
        shows="L1, L2, AdamW, dropout, batch norm, early stopping on a small training set: "
        "test accuracy, gap and the diagnosis verdict",
        command=runner.command_line("regularization", argv),
    )
    for name in results.runs:
        table.add_seeds(name, results.metrics(name))
    table.add_effect("test_accuracy", "none", header="test accuracy − none")
    none = table.rows[0]
    reasons = [r for r in none["seeds"].get("reason", []) if r]
    table.note(f"Without regularization the diagnosis says: {none['verdict']}"
               + (f" (first seed: {reasons[0]})." if reasons else "."))
    table.note(f"One test example is {1 / info.split_sizes['test']:.4f} of accuracy.")
    claimed = (f"L1 {args.l1:g}", f"L2 {args.l2:g}", f"dropout {args.dropout:g}", "batch norm",
               f"early stopping ({args.patience})")
    for name in claimed:
        table.judge("test_accuracy", "none", name)
    return table


def main(argv=None):
    args = runner.parse_args(build_parser(), argv)
    check_args(args)
    runner.setup(args)

    # Data: a deliberately small training split
    train, validation, test, info = runner.load_data(args)

    # Model
    build = functools.partial(make_model, info=info)
    with runner.scope(args):
        probe = build(args)
        probe.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    data.check_targets(probe, train)  # before anything is written

    # Train with and without: per seed the same weights and batches; the clean training split evaluated
    # in inference mode (dropout off) and each learning curve diagnosed
    run = runner.start_run(args)  # the first seed's last variant is the run's: checkpointed, resumable
    results = runner.train_seeds(args, variants, build, run=run, train_eval=True, diagnose=True)

    # Result
    table = comparison(args, info, argv, results)
    table.write(run.directory)
    first = results.first
    histories = {name: result.history for name, result in first.items()}
    runner.plot_variants(histories, run.path("variants.png"), keys=("val_loss", "loss", "val_accuracy"),
                         title=table.title)
    table.print()
    last = first[list(first)[-1]]
    return run.finish(last.model, last.history, test, info, extra=table.to_dict(), callbacks=last.callbacks)


if __name__ == "__main__":
    runner.run_cli(main)
