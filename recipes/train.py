"""Train: one config-driven script for any data set, model, augmentation, loss, optimizer
and schedule (timm's train.py, for Keras).

Every choice is a plain typed flag, so a sweep or a cloud job drives it by flags or by a
saved config: `--config runs/train/<time>/config.json` replays a run, and flags given on the
command line override it. `main(argv)` returns the metrics dict the run wrote.

Run (defaults: digits, the baseline CNN, Adam at 1e-3, no augmentation, 20 epochs):

    python recipes/train.py
    python recipes/train.py --model resnet --augment flip,cutout --optimizer nesterov \
        --schedule onecycle --learning-rate 0.1 --loss label_smoothing --label-smoothing 0.1
    python recipes/train.py --augment mixup --mixup-alpha 0.4 --dropout 0.3 --early-stopping 5
    python recipes/train.py --dataset ../shared/data/cifar10_test.npz --model resnet --epochs 30
    # the CIFAR-10 recipe of benchmarks/time_to_accuracy.py (0.70 validation accuracy in 10 epochs there):
    python recipes/train.py --dataset ../shared/data/cifar10_test.npz --model fastnet --width 48 \
        --batch-size 128 --epochs 10 --augment flip,translate --translate-factor 0.0625 \
        --optimizer nesterov --schedule onecycle --learning-rate 1.0 --weight-decay 5e-4 \
        --loss label_smoothing --label-smoothing 0.2
    python recipes/train.py --model MobileNetV3Small --weights none --image-size 32 --channels 3

It writes the runner's files (config.json, model.keras, history.csv, metrics.json with the
learning-curve verdict, curves.png, logs/) and prints the test accuracy and the folder.
"""

import argparse
import functools
import math

from kerasext import runner  # first: starts TensorFlow without its C++ log lines
import keras
from kerasext import callbacks, data, layers, losses, models, schedules

DEFAULTS = dict(epochs=20, batch_size=64)
WHITEN_IMAGES = 5000
AUGMENTS = tuple(layers.AUGMENTATIONS)  # the one registry: flip, rotate, translate, shift, cutout, ...
MIXERS = ("mixup", "cutmix", "mixup_cutmix")  # soft labels: every split then gets one-hot ones
LOSSES = ("crossentropy", "focal", "label_smoothing")
OPTIMIZERS = ("sgd", "nesterov", "rmsprop", "adam", "adamw")
SCHEDULES = ("constant", "onecycle", "cosine", "step", "cyclical")
# Learning rate when --learning-rate is not given: adaptive optimizers, then SGD.
DEFAULT_LR = {"adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3, "sgd": 0.05, "nesterov": 0.05}
# What `python recipes/sweep.py` (and `python -m cloud.submit_sweep`) searches by default.
SEARCH_SPACE = {
    "learning-rate": {"double": [1e-4, 1e-2], "scale": "log"},
    "weight-decay": {"double": [1e-6, 1e-3], "scale": "log"},
    "dropout": {"double": [0.0, 0.5]},
    "optimizer": {"categorical": ["adam", "adamw", "rmsprop"]},
    "schedule": {"categorical": ["constant", "cosine", "onecycle"]},
    "batch-size": {"discrete": [32, 64, 128]},
}


def build_parser():
    parser = runner.make_parser("train", __doc__, kfold=True, **DEFAULTS)
    model = parser.add_argument_group("model")
    model.add_argument("--model", default="cnn",
                       help="cnn, mlp, resnet, fastnet, or a keras.applications name (MobileNetV3Small, ...)")
    model.add_argument("--width", type=runner.flags.width, default=None,
                       help="first-block filters (cnn 32, resnet 16) or hidden units (mlp 128)")
    model.add_argument("--depth", type=runner.flags.depth, default=None,
                       help="conv blocks, hidden layers or residual stages")
    model.add_argument("--activation", default="relu", help="hidden activation (initializer follows it)")
    model.add_argument("--dropout", type=float, default=0.0, help="dropout rate before dense layers")
    model.add_argument("--batch-norm", action=argparse.BooleanOptionalAction, default=False)
    model.add_argument("--l1", type=float, default=0.0, help="L1 kernel penalty")
    model.add_argument("--l2", type=float, default=0.0, help="L2 kernel penalty")
    model.add_argument("--whiten", action="store_true",
                       help="fastnet: airbench's frozen whitening stem, set from up to 5,000 training images")
    model.add_argument("--weights", default="none",
                       help="keras.applications weights: imagenet, none, or a weights file")
    augment = parser.add_argument_group("augmentation")
    augment.add_argument("--augment", default="", help=f"comma-separated, in order: {','.join(AUGMENTS)}")
    augment.add_argument("--mixup-alpha", type=float, default=0.2)
    augment.add_argument("--cutmix-alpha", type=float, default=1.0)
    augment.add_argument("--switch-prob", type=float, default=0.5, help="mixup_cutmix: chance of CutMix")
    augment.add_argument("--cutout-size", type=float, default=0.3,
                         help="Cutout side: pixels (>= 1) or a fraction of the image side (< 1)")
    augment.add_argument("--rotate-factor", type=float, default=0.05, help="fraction of a full turn")
    augment.add_argument("--translate-factor", type=float, default=0.1, help="fraction of the image (translate and shift)")
    loss = parser.add_argument_group("loss")
    loss.add_argument("--loss", default="crossentropy", choices=LOSSES)
    loss.add_argument("--label-smoothing", type=float, default=0.1, help="for --loss label_smoothing")
    loss.add_argument("--focal-gamma", type=float, default=2.0, help="for --loss focal")
    optimizer = parser.add_argument_group("optimizer and schedule")
    optimizer.add_argument("--optimizer", default="adam", choices=OPTIMIZERS)
    optimizer.add_argument("--learning-rate", type=float, default=None,
                           help="peak learning rate (default 1e-3 adaptive, 0.05 SGD)")
    optimizer.add_argument("--weight-decay", type=float, default=None,
                           help="decoupled weight decay (default 1e-4 for adamw, else 0)")
    optimizer.add_argument("--momentum", type=float, default=0.9, help="sgd, nesterov, rmsprop")
    optimizer.add_argument("--schedule", default="constant", choices=SCHEDULES)
    optimizer.add_argument("--early-stopping", type=int, default=0, metavar="PATIENCE",
                           help="stop after PATIENCE epochs without a better val_loss (0: off)")
    return parser


def check_args(args):
    """Recipe-specific checks; a bad value is a `ValueError` (one line, exit 2)."""
    names = parse_augment(args.augment)
    if not 0.0 <= args.dropout < 1.0:
        raise ValueError(f"`--dropout` must be in [0, 1). Received: {args.dropout}")
    for flag in ("l1", "l2", "momentum", "early_stopping"):
        if getattr(args, flag) < 0:
            raise ValueError(f"`--{flag.replace('_', '-')}` must be >= 0. Received: {getattr(args, flag)}")
    for flag in ("mixup_alpha", "cutmix_alpha", "cutout_size", "focal_gamma"):
        if not getattr(args, flag) > 0:
            raise ValueError(f"`--{flag.replace('_', '-')}` must be > 0. Received: {getattr(args, flag)}")
    if args.learning_rate is not None and not args.learning_rate > 0:
        raise ValueError(f"`--learning-rate` must be > 0. Received: {args.learning_rate}")
    if args.weight_decay is not None and args.weight_decay < 0:
        raise ValueError(f"`--weight-decay` must be >= 0. Received: {args.weight_decay}")
    if not 0.0 <= args.label_smoothing < 1.0:
        raise ValueError(f"`--label-smoothing` must be in [0, 1). Received: {args.label_smoothing}")
    if args.whiten and args.model != "fastnet":
        raise ValueError(f"`--whiten` applies to --model fastnet only. Received: --model {args.model}")
    if args.model not in models.FAMILIES and not hasattr(keras.applications, args.model):
        raise ValueError(
            f"`--model` must be one of {', '.join(models.FAMILIES)} or a keras.applications "
            f"name such as MobileNetV3Small. Received: {args.model}"
        )
    return names


def parse_augment(text):
    names = [n.strip() for n in str(text or "").split(",") if n.strip()]
    unknown = [n for n in names if n not in AUGMENTS]
    if unknown:
        raise ValueError(f"`--augment` takes {', '.join(AUGMENTS)}. Received: {', '.join(unknown)}")
    return names


def augment_options(args, num_classes):
    """The options of `kerasext.layers.get_augmentation`: Keras' own flip / rotation / translation
    layers and kerasext's Cutout and label mixers."""
    return dict(num_classes=num_classes, rotate_factor=args.rotate_factor, translate_factor=args.translate_factor,
                cutout_size=args.cutout_size, mixup_alpha=args.mixup_alpha, cutmix_alpha=args.cutmix_alpha,
                switch_prob=args.switch_prob)


def make_augmentations(names, args, num_classes):
    """The augmentation layers of `names`, in order, from the registry (as `train_variants` builds them)."""
    options = augment_options(args, num_classes)
    return [layers.get_augmentation(name, seed=args.seed, **options) for name in names]


def load_data(args, augment=None):
    """The runner's splits; with a label mixer, validation and test get one-hot labels like the mixed ones."""
    train, validation, test, info = runner.load_data(args, augment=augment)
    if mixes(args):
        validation, test = runner.one_hot(validation, info.num_classes), runner.one_hot(test, info.num_classes)
    return train, validation, test, info


def mixes(args):
    return any(name in MIXERS for name in parse_augment(args.augment))


def make_loss(args, one_hot):
    if args.loss == "focal":
        return losses.FocalLoss(gamma=args.focal_gamma)
    if args.loss == "label_smoothing":
        return losses.LabelSmoothingCrossEntropy(args.label_smoothing)
    return "categorical_crossentropy" if one_hot else "sparse_categorical_crossentropy"


def make_optimizer(args, steps_per_epoch):
    """The optimizer, with the learning-rate schedule inside it (or a callback for one-cycle)."""
    lr = args.learning_rate or DEFAULT_LR[args.optimizer]
    total = args.epochs * steps_per_epoch
    schedule = {
        "constant": lambda: lr,
        "onecycle": lambda: lr,  # kerasext.callbacks.OneCycle sets LR and momentum each step
        "cosine": lambda: schedules.WarmupCosine(
            lr, total, warmup_steps=steps_per_epoch if args.epochs > 1 else 0),
        "step": lambda: schedules.StepDecay(
            lr, sorted({max(1, total // 2), max(2, 3 * total // 4)}), [0.1, 0.01][: 1 + (total >= 4)]),
        "cyclical": lambda: schedules.Cyclical(lr / 10, lr, step_size=2 * steps_per_epoch),
    }[args.schedule]()
    decay = args.weight_decay if args.weight_decay is not None else (1e-4 if args.optimizer == "adamw" else 0.0)
    decay = decay or None
    if args.optimizer in ("sgd", "nesterov"):
        return keras.optimizers.SGD(schedule, momentum=args.momentum,
                                    nesterov=args.optimizer == "nesterov", weight_decay=decay)
    if args.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(schedule, momentum=args.momentum, weight_decay=decay)
    if args.optimizer == "adamw":
        return keras.optimizers.AdamW(schedule, weight_decay=decay or 0.0)
    return keras.optimizers.Adam(schedule, weight_decay=decay)


def make_callbacks(args, steps_per_epoch):
    extra = [callbacks.LearningCurveDiagnosis(verbose=False)]
    if args.schedule == "onecycle":  # before the runner's CSVLogger, which then logs LR and momentum
        extra.insert(0, callbacks.OneCycle(
            max_lr=args.learning_rate or DEFAULT_LR[args.optimizer], steps_per_epoch=steps_per_epoch))
    if args.early_stopping:
        extra.append(keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=args.early_stopping, restore_best_weights=True))
    return extra


def make_model(args, info, whiten=None):
    return models.build_model(
        args.model, info.input_shape, info.num_classes, width=args.width, depth=args.depth,
        activation=args.activation, dropout=args.dropout, batch_norm=args.batch_norm,
        l1=args.l1, l2=args.l2, seed=args.seed, weights=None if args.weights == "none" else args.weights,
        whiten=whiten,
    )


def whitening_images(train, limit=WHITEN_IMAGES):
    """Up to `limit` images from the first batches of the (unaugmented) training pipeline: a bounded
    sample, whatever the data set's size."""
    import numpy as np

    images, count = [], 0
    for x, _ in train:
        images.append(np.asarray(x))
        count += len(images[-1])
        if count >= limit:
            break
    return np.concatenate(images)[:limit]


def main(argv=None):
    args = runner.parse_args(build_parser(), argv)
    names = check_args(args)
    runner.setup(args)

    # Data
    train, validation, test, info = load_data(args)
    steps_per_epoch = math.ceil(info.split_sizes["train"] / args.batch_size)

    # Model (with --whiten, its stem whitens the 2x2 patches of a sample of the training images)
    build = functools.partial(make_model, info=info,
                              whiten=whitening_images(train) if args.whiten else None)
    loss = make_loss(args, mixes(args))
    with runner.scope(args):  # the distribution strategy's scope, plus --remat
        probe = build(args)
        probe.compile(optimizer="adam", loss=loss)
    data.check_targets(probe, test)  # before anything is written

    # Train: the run checkpoints every --checkpoint-every steps with the callbacks' state;
    # after a kill the same command resumes at the batch it had reached.
    run = runner.start_run(args)  # or resume the unfinished run in --model-dir
    variant = runner.Variant(
        optimizer=functools.partial(make_optimizer, args, steps_per_epoch), loss=loss, augment=tuple(names),
        callbacks=tuple(make_callbacks(args, steps_per_epoch)))
    result = runner.train_variants(args, {"train": variant}, build, data=load_data, run=run, test=False,
                                   augment_options=augment_options(args, info.num_classes))["train"]

    # Result
    summary = runner.summarize_history(result.history)
    extra = {
        "shows": "any data set, model, augmentation, loss, optimizer and schedule from flags or a config",
        "command": runner.command_line("train", argv),
        "train": summary,
        "early_stopped": summary["epochs"] < args.epochs,
    }
    return run.finish(result.model, result.history, test, info, extra=extra, callbacks=result.callbacks)


if __name__ == "__main__":
    runner.run_cli(main)
