"""Transfer learning: from-scratch vs feature extraction vs fine-tuning, with few labels,
shown for real offline by pretraining a backbone on half the classes.

The guide says transfer learning "is a powerful method for improving models, especially with
small datasets", through feature extraction (the pretrained model as a fixed feature
extractor) and fine-tuning (adjusting its layers), and that "both methods significantly boost
performance". ImageNet weights cannot be downloaded on this machine, so by default the
recipe first pretrains a backbone on a source task (classes 0-4), then transfers it to the
target task (classes 5-9) with 10, 50 and all labels per class: phase 1 feature extraction
(backbone frozen, BatchNorm in inference mode, a new head), phase 2 fine-tuning (the top
layers unfrozen at a lower learning rate with a cosine schedule), and a from-scratch control,
all at equal epochs.

Run (defaults: digits, the kerasext CNN backbone with BatchNorm, about a minute on 2 cores):

    python recipes/transfer_learning.py
    python recipes/transfer_learning.py --mode pretrain                 # save backbone.weights.h5 only
    python recipes/transfer_learning.py --weights runs/transfer_learning/<time>/backbone.weights.h5
    python recipes/transfer_learning.py --base MobileNetV3Small --weights imagenet \
        --image-size 32 --channels 3                                    # needs network or a weights file
    python recipes/transfer_learning.py --dataset ../shared/data/cifar10_test.npz --labels-per-class 10,100

It writes the runner's files for the last fine-tuned model, `backbone.weights.h5` (when it
pretrains), and `comparison.md` (test accuracy per method and label budget).
"""

import numpy as np

import kerasext  # noqa: F401  (first: starts TensorFlow without its C++ log lines)
import keras
from kerasext import data, models, results, runner, schedules

DEFAULTS = dict(epochs=15, batch_size=32)
SOURCE, TARGET, LABELS = "0,1,2,3,4", "5,6,7,8,9", "10,50,0"
LEARNING_RATE, HEAD_LR, FINE_TUNE_LR, FINE_TUNE_LAYERS = 1e-3, 1e-2, 1e-4, 6
CLAIM = "feature extraction and fine-tuning significantly boost performance, especially with small datasets"


def build_parser():
    parser = runner.make_parser("transfer_learning", __doc__, **DEFAULTS)
    group = parser.add_argument_group("transfer")
    group.add_argument("--mode", default="transfer", choices=("transfer", "pretrain"))
    group.add_argument("--base", default="cnn", help="cnn (kerasext, with BatchNorm) or a keras.applications name")
    group.add_argument("--weights", default="pretrain",
                       help="pretrain (on the source classes, here), imagenet, none, or a .weights.h5 PATH")
    group.add_argument("--source-classes", default=SOURCE)
    group.add_argument("--target-classes", default=TARGET)
    group.add_argument("--labels-per-class", default=LABELS, help="label budgets to compare; 0 means all")
    group.add_argument("--pretrain-epochs", type=runner.flags.positive_int, default=15)
    group.add_argument("--fine-tune-layers", type=runner.flags.positive_int, default=FINE_TUNE_LAYERS,
                       help="top backbone layers unfrozen in phase 2 (BatchNorm layers stay frozen)")
    group.add_argument("--head-lr", type=float, default=HEAD_LR,
                       help="Adam LR of the new head on frozen features (a linear layer takes a larger one)")
    group.add_argument("--fine-tune-lr", type=float, default=FINE_TUNE_LR, help="peak LR of phase 2 (cosine)")
    return parser


def ints(text, flag):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 0:
        raise ValueError(f"`--{flag}` must be comma-separated integers >= 0. Received: {text!r}")
    return values


def split_by_class(args):
    """Source and target arrays from the runner's own stratified split, labels renumbered."""
    arrays = data.load_arrays(args.dataset, data_dir=args.data_dir, image_size=args.image_size,
                              channels=args.channels)
    splits = data.stratified_split(arrays.y, args.split, args.seed)  # as runner.load_data splits
    source, target = ints(args.source_classes, "source-classes"), ints(args.target_classes, "target-classes")
    classes = len(arrays.class_names)
    if set(source) & set(target) or max(source + target) >= classes:
        raise ValueError(f"`--source-classes` and `--target-classes` must be disjoint classes in [0, {classes}). "
                         f"Received: {args.source_classes} and {args.target_classes}")

    def subset(classes_, idx):
        idx = idx[np.isin(arrays.y[idx], classes_)]
        return arrays.x[idx], np.searchsorted(np.array(classes_), arrays.y[idx])  # classes_ sorted below

    source, target = sorted(source), sorted(target)
    return ({name: subset(source, idx) for name, idx in zip(("train", "val", "test"), splits)},
            {name: subset(target, idx) for name, idx in zip(("train", "val", "test"), splits)},
            arrays.x.shape[1:], len(source), len(target))


def few_labels(x, y, per_class, seed):
    if per_class == 0:
        return x, y
    rng = np.random.default_rng(seed)
    keep = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:per_class] for c in np.unique(y)])
    return x[np.sort(keep)], y[np.sort(keep)]


def make_backbone(args, input_shape, weights=None):
    """Images -> a feature vector: the kerasext CNN's body, or a keras.applications base."""
    if args.base == "cnn":
        if args.weights == "imagenet":
            raise ValueError("`--weights imagenet` needs a keras.applications `--base` (e.g. "
                             "MobileNetV3Small); the cnn backbone has no ImageNet weights. Received: --base cnn")
        model = models.build_model("cnn", input_shape, 2, batch_norm=True, seed=args.seed)
        return keras.Model(model.input, model.layers[-3].output, name="backbone")  # before the head
    if not hasattr(keras.applications, args.base):
        raise ValueError(f"`--base` must be cnn or a keras.applications name. Received: {args.base}")
    inputs = keras.Input(input_shape)
    if input_shape[-1] != 3 or min(input_shape[:2]) < 32:
        raise ValueError(f"--base {args.base} needs RGB images of at least 32x32: add --image-size 32 "
                         f"--channels 3. Received: input shape {tuple(input_shape)}")
    try:
        base = getattr(keras.applications, args.base)(include_top=False, weights=weights,
                                                      input_shape=tuple(input_shape), pooling="avg")
    except Exception as error:  # noqa: BLE001 - offline: URL, socket or SSL errors of many kinds
        if weights != "imagenet":
            raise
        raise ValueError(f"ImageNet weights for {args.base} cannot be downloaded here "
                         f"({type(error).__name__}: no network?); pass --weights PATH to a weights file, "
                         "or --weights pretrain to pretrain on the source classes.") from None
    return keras.Model(inputs, base(inputs * 255.0), name="backbone")  # applications take [0, 255]


def classifier(backbone, num_classes, inference_bn):
    inputs = keras.Input(backbone.input.shape[1:])
    features = backbone(inputs, training=False) if inference_bn else backbone(inputs)
    outputs = keras.layers.Dense(num_classes, activation="softmax", dtype="float32")(features)
    return keras.Model(inputs, outputs)


def fit(model, train, val, test, epochs, optimizer, strategy, args, callbacks=()):
    return results.fit_variant(model, train, val, epochs=epochs, optimizer=optimizer, strategy=strategy,
                               loss="sparse_categorical_crossentropy", test=test, seed=args.seed,
                               callbacks=callbacks)


def main(argv=None):
    args = runner.parse_args(build_parser(), argv)
    for flag in ("head_lr", "fine_tune_lr"):
        if not getattr(args, flag) > 0:
            raise ValueError(f"`--{flag.replace('_', '-')}` must be > 0. Received: {getattr(args, flag)}")
    budgets = ints(args.labels_per_class, "labels-per-class")
    runner.setup(args)
    source, target, input_shape, n_source, n_target = split_by_class(args)
    ds = lambda x, y, shuffle=False: data.make_dataset(x, y, args.batch_size, shuffle=shuffle, seed=args.seed)  # noqa: E731
    strategy = runner.strategy(args)
    preset = None if args.weights in ("pretrain", "none") or args.weights.endswith(".h5") else args.weights
    with strategy.scope():
        backbone = make_backbone(args, input_shape, weights=preset)  # fails here, before any file, offline
        if args.weights.endswith(".h5"):
            backbone.load_weights(args.weights)
        source_model = classifier(backbone, n_source, inference_bn=False)
        source_model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    data.check_targets(source_model, source["train"][1])  # before anything is written

    run = runner.start_run(args)
    lr = lambda rate: (lambda: keras.optimizers.Adam(rate))  # noqa: E731
    source_note = None
    if args.weights == "pretrain" or args.mode == "pretrain":
        pre = fit(source_model, ds(*source["train"], True), ds(*source["val"]), ds(*source["test"]),
                  args.pretrain_epochs, lr(LEARNING_RATE), strategy, args,
                  callbacks=run.callbacks() if args.mode == "pretrain" else ())
        backbone.save_weights(run.path("backbone.weights.h5"))
        source_note = (f"Backbone pretrained on classes {args.source_classes} ({len(source['train'][1])} examples, "
                       f"{args.pretrain_epochs} epochs): source test accuracy {pre.metrics['test_accuracy']:.4f}; "
                       f"saved as backbone.weights.h5.")
        print(source_note)
        if args.mode == "pretrain":
            return run.finish(source_model, pre.history, ds(*source["test"]), None, extra={
                "shows": "pretraining a backbone on the source classes", "source_test_accuracy":
                pre.metrics["test_accuracy"], "command": results.command_line("transfer_learning", argv)})
    pretrained = backbone.get_weights()

    columns = [(f"acc_{b}", f"{b} labels/class" if b else f"all labels ({len(target['train'][1]) // n_target}/class)")
               for b in budgets]
    table = results.Comparison(
        f"Transfer from classes {args.source_classes} to {args.target_classes} ({args.base} backbone, "
        f"weights: {args.weights if not args.weights.endswith('.h5') else 'file'}), {args.epochs} epochs each: test accuracy",
        columns, claim=CLAIM, recipe="transfer_learning",
        shows="from scratch vs feature extraction vs fine-tuning, with 10 / 50 / all labels per class",
        command=results.command_line("transfer_learning", argv))
    half = max(1, args.epochs // 2)
    scores = {"from scratch": {}, "feature extraction": {}, "fine-tuning": {}}
    for index, budget in enumerate(budgets):
        train = lambda: ds(*few_labels(*target["train"], budget, args.seed), True)  # noqa: E731
        val, test = ds(*target["val"]), ds(*target["test"])
        with strategy.scope():  # from scratch: the same architecture, freshly initialized, all trainable
            scratch = classifier(make_backbone(args, input_shape), n_target, inference_bn=False)
        scores["from scratch"][budget] = fit(scratch, train(), val, test, args.epochs, lr(LEARNING_RATE),
                                             strategy, args).metrics["test_accuracy"]
        with strategy.scope():
            backbone.set_weights(pretrained)
            backbone.trainable = False  # phase 1: feature extraction, BatchNorm in inference mode
            model = classifier(backbone, n_target, inference_bn=True)
        head = model.get_weights()
        scores["feature extraction"][budget] = fit(model, train(), val, test, args.epochs, lr(args.head_lr),
                                                   strategy, args).metrics["test_accuracy"]
        model.set_weights(head)  # fine-tuning: half the epochs frozen, then the top layers unfrozen
        fit(model, train(), val, test, half, lr(args.head_lr), strategy, args)
        backbone.trainable = True
        for layer in backbone.layers[:-args.fine_tune_layers]:
            layer.trainable = False
        for layer in backbone.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False
        steps = (args.epochs - half) * int(train().cardinality())
        last = index == len(budgets) - 1
        tuned = fit(model, train(), val, test, args.epochs - half,
                    lambda: keras.optimizers.Adam(schedules.WarmupCosine(args.fine_tune_lr, max(steps, 1))),
                    strategy, args, callbacks=run.callbacks() if last else ())
        scores["fine-tuning"][budget] = tuned.metrics["test_accuracy"]
    for method, by_budget in scores.items():
        table.add(method, **{f"acc_{b}": v for b, v in by_budget.items()})

    smallest = min(budgets, key=lambda b: b or 10**9)
    s, fe, ft = (scores[m][smallest] for m in scores)
    if source_note:
        table.note(source_note)
    table.note(f"Learning rates (Adam): from scratch {LEARNING_RATE:g}; the new head on frozen features "
               f"{args.head_lr:g} (at {LEARNING_RATE:g} a linear head is still undertrained after these epochs).")
    table.note(f"Equal epochs: from scratch and feature extraction train {args.epochs} epochs; fine-tuning "
               f"trains {half} frozen, then {args.epochs - half} with the top {args.fine_tune_layers} backbone "
               f"layers unfrozen at a cosine learning rate from {args.fine_tune_lr:g}.")
    table.check_claim(fe > s and ft > s, (
        f"with {smallest or 'all'} labels per class, from scratch {s:.4f}, feature extraction {fe:.4f}, "
        f"fine-tuning {ft:.4f}."))
    table.write(run.directory)
    table.print()
    return run.finish(model, tuned.history, test, None, extra={**table.to_dict(), "scores": scores})


if __name__ == "__main__":
    runner.run_cli(main)
