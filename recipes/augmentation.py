"""Augmentation: flip, rotation, translation, Cutout, Mixup, CutMix and the switch, with and
without, from the same initial weights.

The guide says label-preserving augmentation (rotation, flipping) reduces overfitting, and
that Mixup and Cutout "significantly enhance training effectiveness". This recipe trains the
baseline CNN once without augmentation and once with each augmentation named in `--augment`
(Keras' own RandomFlip / RandomRotation / RandomTranslation, kerasext's Cutout, Mixup, CutMix
and MixupCutMix), every variant from the same initial weights and for the same epochs, once
per seed (`--seeds`, default 3), and reports test accuracy, the clean training accuracy and
the train/test gap (mean ± 95% CI over the seeds) with each variant's paired difference to no
augmentation. It judges Cutout and Mixup by their effect on test accuracy, and the
label-preserving flip and rotation by their effect on the train/test gap.

Run (defaults: digits, 3 seeds x 8 variants x 8 epochs, about 4 minutes on 2 cores):

    python recipes/augmentation.py
    python recipes/augmentation.py --augment cutout,mixup --epochs 30 --cutout-size 0.5
    python recipes/augmentation.py --dataset ../shared/data/cifar10_test.npz --augment flip,cutmix

It writes the runner's files for the first seed's last variant (model.keras, metrics.json,
curves.png, ...), `comparison.md` (the table), `variants.png` (validation curves of the first
seed, overlaid), and `preview.png`
(originals above, the last augmentation below; `preview_<name>.png` for each), and records
the table in metrics.json under `results`.
"""

import functools

from kerasext import runner  # first: starts TensorFlow without its C++ log lines
import keras
from kerasext import data, layers, models, plot

DEFAULTS = dict(epochs=8, batch_size=64)  # 15 before --seeds (issue 16): 3 seeds x 8 epochs
AUGMENTS = ("flip", "rotate", "translate", "cutout", "mixup", "cutmix", "mixup_cutmix")  # compared by default
LEARNING_RATE = 1e-3
CLAIM = ("augmentation reduces overfitting; Mixup and Cutout significantly enhance "
         "training effectiveness")


def build_parser():
    parser = runner.make_parser("augmentation", __doc__, kfold=True, comparison=True, **DEFAULTS)
    group = parser.add_argument_group("augmentation")
    group.add_argument("--width", type=runner.flags.width, default=32,
                       help="filters of the CNN's first block, doubled each block (default 32)")
    group.add_argument("--augment", default=",".join(AUGMENTS),
                       help=f"comma-separated variants to compare, from {','.join(layers.AUGMENTATIONS)}")
    group.add_argument("--learning-rate", type=float, default=LEARNING_RATE, help="Adam's learning rate")
    group.add_argument("--mixup-alpha", type=float, default=0.2)
    group.add_argument("--cutmix-alpha", type=float, default=1.0)
    group.add_argument("--cutout-size", type=float, default=0.3,
                       help="Cutout side: pixels (>= 1) or a fraction of the image side (< 1)")
    group.add_argument("--rotate-factor", type=float, default=0.05, help="fraction of a full turn")
    group.add_argument("--translate-factor", type=float, default=0.1, help="fraction of the image (translate and shift)")
    return parser


def check_args(args):
    names = [n.strip() for n in args.augment.split(",") if n.strip()]
    unknown = [n for n in names if n not in layers.AUGMENTATIONS]
    if not names or unknown:
        raise ValueError(f"`--augment` takes one or more of {','.join(layers.AUGMENTATIONS)}. "
                         f"Received: {args.augment!r}")
    for flag in ("learning_rate", "mixup_alpha", "cutmix_alpha", "cutout_size", "rotate_factor",
                 "translate_factor"):
        if not getattr(args, flag) > 0:
            raise ValueError(f"`--{flag.replace('_', '-')}` must be > 0. Received: {getattr(args, flag)}")
    return list(dict.fromkeys(names))


def augment_options(args, num_classes):
    """The options of `kerasext.layers.get_augmentation`: Keras' own geometric layers, kerasext's others."""
    return dict(num_classes=num_classes, rotate_factor=args.rotate_factor,
                translate_factor=args.translate_factor, cutout_size=args.cutout_size,
                mixup_alpha=args.mixup_alpha, cutmix_alpha=args.cutmix_alpha)


def make_model(args, info):
    """The baseline CNN; seeded, so every variant starts from the same weights."""
    return models.build_model("cnn", info.input_shape, info.num_classes, width=args.width, seed=args.seed)


def variants(args, names):
    """name -> the variant: no augmentation, then each one alone; one-hot labels and one loss for all."""
    adam = functools.partial(keras.optimizers.Adam, args.learning_rate)
    return {name: runner.Variant(optimizer=adam, loss="categorical_crossentropy",
                                 augment=() if name == "none" else (name,))
            for name in ["none", *names]}


def write_preview(layer, clean_train, info, path):
    """Originals above, the same images augmented below (one-hot labels; mixed ones are soft)."""
    images, labels = next(iter(clean_train))
    if getattr(layer, "mixes_labels", False):
        augmented, mixed = layer(images, labels)
    else:
        augmented, mixed = layer(images, training=True), labels
    plot.augmentation_grid(images, augmented, path, labels=labels, augmented_labels=mixed,
                           class_names=info.class_names)


def comparison(args, info, argv, results, names):
    """The table: one row per variant (mean ± 95% CI over the seeds), its paired difference to no
    augmentation, and each claim judged."""
    table = runner.Comparison(
        f"Augmentation on {info.name} ({args.epochs} epochs each, same initial weights per seed)",
        [("test_accuracy", "test accuracy"), ("train_eval_accuracy", "train accuracy (clean)"),
         ("generalization_gap", "train − test gap"), ("best_val_accuracy", "best val accuracy"),
         ("verdict", "learning-curve verdict"), ("seconds", "seconds", ".1f")],
        claim=CLAIM, recipe="augmentation", seeds=results.seeds,
        shows="flip, rotation, translation, Cutout, Mixup, CutMix, the switch: test accuracy and "
        "train/test gap with and without",
        command=runner.command_line("augmentation", argv),
    )
    for name in results.runs:
        table.add_seeds(name, results.metrics(name))
    table.add_effect("test_accuracy", "none", header="test accuracy − none")
    table.add_effect("generalization_gap", "none", header="gap − none")
    table.note(f"The test split holds {info.split_sizes['test']} examples: one example is "
               f"{1 / info.split_sizes['test']:.4f} of accuracy.")
    for name in ("cutout", "mixup"):  # "significantly enhance training effectiveness"
        if name in names:
            table.judge("test_accuracy", "none", name)
    for name in ("flip", "rotate"):  # label-preserving augmentation "reduces overfitting"
        if name in names:
            table.judge("generalization_gap", "none", name, direction=-1)
    return table


def main(argv=None):
    args = runner.parse_args(build_parser(), argv)
    names = check_args(args)
    runner.setup(args)

    # Data: one-hot labels in every split (Mixup's are soft), so every variant shares one loss
    clean_train, validation, test, info = runner.load_one_hot(args)

    # Model
    build = functools.partial(make_model, info=info)
    with runner.scope(args):
        probe = build(args)
        probe.compile(optimizer="adam", loss="categorical_crossentropy")
    data.check_targets(probe, clean_train)  # before anything is written

    # Train with and without: per seed the same weights, the same batches, one augmentation each
    run = runner.start_run(args)  # the first seed's last variant is the run's: checkpointed, resumable
    options = augment_options(args, info.num_classes)
    results = runner.train_seeds(
        args, functools.partial(variants, names=names), build, data=runner.load_one_hot, run=run,
        train_eval=True, diagnose=True, augment_options=options)

    # Result
    table = comparison(args, info, argv, results, names)
    table.write(run.directory)
    for name in names:
        layer = layers.get_augmentation(name, seed=args.seed, **options)
        write_preview(layer, clean_train, info, run.path(f"preview_{name}.png"))
        if name == names[-1]:
            write_preview(layer, clean_train, info, run.path("preview.png"))
    first = results.first
    histories = {name: result.history for name, result in first.items()}
    runner.plot_variants(histories, run.path("variants.png"), keys=("val_accuracy", "val_loss"),
                         title=table.title)
    table.print()
    last = first[names[-1]]
    return run.finish(last.model, last.history, test, info, extra=table.to_dict(), callbacks=last.callbacks)


if __name__ == "__main__":
    runner.run_cli(main)
