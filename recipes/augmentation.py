"""Augmentation: flip, rotation, translation, Cutout, Mixup, CutMix and the switch, with and
without, from the same initial weights.

The guide says label-preserving augmentation (rotation, flipping) reduces overfitting, and
that Mixup and Cutout "significantly enhance training effectiveness". This recipe trains the
baseline CNN once without augmentation and once with each augmentation named in `--augment`
(Keras' own RandomFlip / RandomRotation / RandomTranslation, kerasext's Cutout, Mixup, CutMix
and MixupCutMix), every variant from the same initial weights and for the same epochs, and
reports test accuracy, the clean training accuracy and the train/test gap.

Run (defaults: digits, 8 variants x 15 epochs, about 2 minutes on 2 cores):

    python recipes/augmentation.py
    python recipes/augmentation.py --augment cutout,mixup --epochs 30 --cutout-size 0.5
    python recipes/augmentation.py --dataset ../shared/data/cifar10_test.npz --augment flip,cutmix

It writes the runner's files for the last variant (model.keras, metrics.json, curves.png, ...),
`comparison.md` (the table), `variants.png` (validation curves overlaid), and `preview.png`
(originals above, the last augmentation below; `preview_<name>.png` for each), and records
the table in metrics.json under `results`.
"""

import kerasext  # noqa: F401  (first: starts TensorFlow without its C++ log lines)
import keras
from kerasext import callbacks, data, layers, models, plot, results, runner

DEFAULTS = dict(epochs=15, batch_size=64)
AUGMENTS = ("flip", "rotate", "translate", "cutout", "mixup", "cutmix", "mixup_cutmix")
LEARNING_RATE = 1e-3
CLAIM = ("augmentation reduces overfitting; Mixup and Cutout significantly enhance "
         "training effectiveness")


def build_parser():
    parser = runner.make_parser("augmentation", __doc__, **DEFAULTS)
    group = parser.add_argument_group("augmentation")
    group.add_argument("--augment", default=",".join(AUGMENTS),
                       help=f"comma-separated variants to compare, from {','.join(AUGMENTS)}")
    group.add_argument("--learning-rate", type=float, default=LEARNING_RATE, help="Adam's learning rate")
    group.add_argument("--mixup-alpha", type=float, default=0.2)
    group.add_argument("--cutmix-alpha", type=float, default=1.0)
    group.add_argument("--cutout-size", type=float, default=0.3,
                       help="Cutout side: pixels (>= 1) or a fraction of the image side (< 1)")
    group.add_argument("--rotate-factor", type=float, default=0.05, help="fraction of a full turn")
    group.add_argument("--translate-factor", type=float, default=0.1, help="fraction of the image")
    return parser


def check_args(args):
    names = [n.strip() for n in args.augment.split(",") if n.strip()]
    unknown = [n for n in names if n not in AUGMENTS]
    if not names or unknown:
        raise ValueError(f"`--augment` takes one or more of {','.join(AUGMENTS)}. Received: {args.augment!r}")
    for flag in ("learning_rate", "mixup_alpha", "cutmix_alpha", "cutout_size", "rotate_factor",
                 "translate_factor"):
        if not getattr(args, flag) > 0:
            raise ValueError(f"`--{flag.replace('_', '-')}` must be > 0. Received: {getattr(args, flag)}")
    return list(dict.fromkeys(names))


def make_augmentation(name, args, num_classes):
    """One augmentation layer by name: Keras' own geometric layers or kerasext's."""
    seed = args.seed
    return {
        "flip": lambda: keras.layers.RandomFlip("horizontal", seed=seed),
        "rotate": lambda: keras.layers.RandomRotation(args.rotate_factor, seed=seed),
        "translate": lambda: keras.layers.RandomTranslation(
            args.translate_factor, args.translate_factor, seed=seed),
        "cutout": lambda: layers.Cutout(args.cutout_size, seed=seed),
        "mixup": lambda: layers.Mixup(args.mixup_alpha, num_classes=num_classes, seed=seed),
        "cutmix": lambda: layers.CutMix(args.cutmix_alpha, num_classes=num_classes, seed=seed),
        "mixup_cutmix": lambda: layers.MixupCutMix(
            args.mixup_alpha, args.cutmix_alpha, num_classes=num_classes, seed=seed),
    }[name]()


def one_hot(dataset, num_classes):
    """Integer labels to one-hot, so every variant uses the same loss and accuracy metric."""
    if dataset.element_spec[1].shape.rank == 2:  # already mixed (soft) labels
        return dataset
    return dataset.map(lambda x, y: (x, keras.ops.one_hot(y, num_classes)))


def write_preview(name, layer, clean_train, info, path):
    images, labels = next(iter(clean_train))
    if getattr(layer, "mixes_labels", False):
        augmented, mixed = layer(images, keras.ops.one_hot(labels, info.num_classes))
    else:
        augmented, mixed = layer(images, training=True), labels
    plot.augmentation_grid(images, augmented, path, labels=labels, augmented_labels=mixed,
                           class_names=info.class_names)


def main(argv=None):
    args = runner.parse_args(build_parser(), argv)
    names = check_args(args)
    runner.setup(args)
    clean_train, validation, test, info = runner.load_data(args)
    n = info.num_classes
    validation, test, clean_eval = one_hot(validation, n), one_hot(test, n), one_hot(clean_train, n)

    strategy = runner.strategy(args)
    with strategy.scope():
        model = models.build_model("cnn", info.input_shape, n, seed=args.seed)
        model.compile(optimizer=keras.optimizers.Adam(args.learning_rate),
                      loss="categorical_crossentropy", metrics=["accuracy"])
    data.check_targets(model, one_hot(clean_train, n))  # before anything is written
    initial_weights = model.get_weights()  # every variant starts here

    run = runner.start_run(args)
    table = results.Comparison(
        f"Augmentation on {info.name} ({args.epochs} epochs each, same initial weights)",
        [("test_accuracy", "test accuracy"), ("train_eval_accuracy", "train accuracy (clean)"),
         ("generalization_gap", "train − test gap"), ("best_val_accuracy", "best val accuracy"),
         ("verdict", "learning-curve verdict"), ("seconds", "seconds", ".1f")],
        claim=CLAIM, recipe="augmentation", shows="flip, rotation, translation, Cutout, Mixup, "
        "CutMix, the switch: test accuracy and train/test gap with and without",
        command=results.command_line("augmentation", argv),
    )
    histories = {}
    for index, name in enumerate(["none", *names]):
        layer = None if name == "none" else make_augmentation(name, args, n)
        train = one_hot(runner.load_data(args, augment=[layer] if layer else None)[0], n)
        diagnosis = callbacks.LearningCurveDiagnosis(verbose=False)
        last = index == len(names)  # the last variant's curves and model go into the run folder
        fit_callbacks = [diagnosis] + (run.callbacks() if last else [])
        result = results.fit_variant(
            model, train, validation, epochs=args.epochs, initial_weights=initial_weights,
            optimizer=lambda: keras.optimizers.Adam(args.learning_rate), strategy=strategy,
            loss="categorical_crossentropy", callbacks=fit_callbacks,
            test=test, train_eval=clean_eval, seed=args.seed,
        )
        table.add(name, verdict=diagnosis.verdict["verdict"], **result.metrics)
        histories[name] = result.history
        if layer is not None:
            write_preview(name, layer, clean_train, info, run.path(f"preview_{name}.png"))
            if last:
                write_preview(name, layer, clean_train, info, run.path("preview.png"))

    none = table.rows[0]
    helped = [r["variant"] for r in table.rows[1:] if r["test_accuracy"] > none["test_accuracy"]]
    narrower = [r["variant"] for r in table.rows[1:] if r["generalization_gap"] < none["generalization_gap"]]
    table.note(f"The test split holds {info.split_sizes['test']} examples: one example is "
               f"{1 / info.split_sizes['test']:.4f} of accuracy, so differences that small are noise.")
    key = [v for v in ("mixup", "cutout") if v in names]
    if key:
        size = info.split_sizes["test"]
        gains = ", ".join(
            f"{v} {round((r['test_accuracy'] - none['test_accuracy']) * size):+d}"
            for v in key for r in table.rows if r["variant"] == v)
        holds = all(v in helped for v in key)
        table.check_claim(holds, (
            f"without augmentation test accuracy is {none['test_accuracy']:.4f}; "
            f"test examples gained: {gains} of {size} (a direction, not significance at this size); "
            f"{', '.join(helped) or 'no variant'} raised it and "
            f"{', '.join(narrower) or 'no variant'} narrowed the train/test gap "
            f"({none['generalization_gap']:.4f} without)."))
    table.write(run.directory)
    results.plot_variants(histories, run.path("variants.png"), keys=("val_accuracy", "val_loss"),
                          title=table.title)
    table.print()
    return run.finish(model, result.history, test, info, extra=table.to_dict(), callbacks=[diagnosis])


if __name__ == "__main__":
    runner.run_cli(main)
