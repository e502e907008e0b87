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
all at equal epochs. All of it runs once per seed (`--seeds`, default 3: another split, another
pretraining, other label draws and weights); cells are the mean ± 95% CI over the seeds, and
each transfer method is judged against from scratch at every label budget by its paired
difference in test accuracy.

Run (defaults: digits, the kerasext CNN backbone with BatchNorm, 3 seeds, about 4 minutes on 2 cores):

    python recipes/transfer_learning.py
    python recipes/transfer_learning.py --mode pretrain                 # save backbone.weights.h5 only
    python recipes/transfer_learning.py --weights runs/transfer_learning/<time>/backbone.weights.h5
    python recipes/transfer_learning.py --base MobileNetV3Small --weights imagenet \
        --image-size 32 --channels 3                                    # needs network or a weights file
    python recipes/transfer_learning.py --dataset ../shared/data/cifar10_test.npz --labels-per-class 10,100

It writes the runner's files for the first seed's last fine-tuned model, `backbone.weights.h5`
(the first seed's, when it pretrains), and `comparison.md` (test accuracy per method and label
budget). `--mode pretrain` trains one backbone (the first seed's).
"""

import functools
import math

import numpy as np

from kerasext import runner  # first: starts TensorFlow without its C++ log lines
import keras
from kerasext import data, models, schedules
from recipes import _data

DEFAULTS = dict(epochs=10, batch_size=32)  # 15 (and 15 pretraining) before --seeds (issue 16)
SOURCE, TARGET, LABELS = "0,1,2,3,4", "5,6,7,8,9", "10,50,0"
LEARNING_RATE, HEAD_LR, FINE_TUNE_LR, FINE_TUNE_LAYERS = 1e-3, 1e-2, 1e-4, 6
CLAIM = "feature extraction and fine-tuning significantly boost performance, especially with small datasets"


def build_parser():
    parser = runner.make_parser("transfer_learning", __doc__, comparison=True, **DEFAULTS)
    group = parser.add_argument_group("transfer")
    group.add_argument("--mode", default="transfer", choices=("transfer", "pretrain"))
    group.add_argument("--base", default="cnn", help="cnn (kerasext, with BatchNorm) or a keras.applications name")
    group.add_argument("--weights", default="pretrain",
                       help="pretrain (on the source classes, here), imagenet, none, or a .weights.h5 PATH")
    group.add_argument("--source-classes", default=SOURCE)
    group.add_argument("--target-classes", default=TARGET)
    group.add_argument("--labels-per-class", default=LABELS, help="label budgets to compare; 0 means all")
    group.add_argument("--pretrain-epochs", type=runner.flags.positive_int, default=10)
    group.add_argument("--fine-tune-layers", type=runner.flags.positive_int, default=FINE_TUNE_LAYERS,
                       help="top backbone layers unfrozen in phase 2 (BatchNorm layers stay frozen)")
    group.add_argument("--head-lr", type=float, default=HEAD_LR,
                       help="Adam LR of the new head on frozen features (a linear layer takes a larger one)")
    group.add_argument("--fine-tune-lr", type=float, default=FINE_TUNE_LR, help="peak LR of phase 2 (cosine)")
    return parser


def check_args(args):
    for flag in ("head_lr", "fine_tune_lr"):
        if not getattr(args, flag) > 0:
            raise ValueError(f"`--{flag.replace('_', '-')}` must be > 0. Received: {getattr(args, flag)}")
    return ints(args.labels_per_class, "labels-per-class")


def ints(text, flag):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 0:
        raise ValueError(f"`--{flag}` must be comma-separated integers >= 0. Received: {text!r}")
    return values


# Data


def split_by_class(args):
    """Source and target arrays from the runner's own stratified split, labels renumbered."""
    splits, class_names = _data.split_arrays(args)
    source, target = ints(args.source_classes, "source-classes"), ints(args.target_classes, "target-classes")
    classes = len(class_names)
    if set(source) & set(target) or max(source + target) >= classes:
        raise ValueError(f"`--source-classes` and `--target-classes` must be disjoint classes in [0, {classes}). "
                         f"Received: {args.source_classes} and {args.target_classes}")

    def subset(kept, x, y):
        keep = np.isin(y, kept)
        return x[keep], np.searchsorted(np.array(kept), y[keep])  # `kept` sorted below

    source, target = sorted(source), sorted(target)
    return ({name: subset(source, *xy) for name, xy in splits.items()},
            {name: subset(target, *xy) for name, xy in splits.items()},
            splits["train"][0].shape[1:], len(source), len(target))


def few_labels(x, y, per_class, seed):
    if per_class == 0:
        return x, y
    rng = np.random.default_rng(seed)
    keep = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:per_class] for c in np.unique(y)])
    return x[np.sort(keep)], y[np.sort(keep)]


def task_data(args, augment=None, *, task, budget=0):
    """A task's pipelines, its training split cut to `budget` labels per class (0: all)."""
    def dataset(x, y, shuffle=False):
        return data.make_dataset(x, y, args.batch_size, shuffle=shuffle, seed=args.seed)

    train = few_labels(*task["train"], budget, args.seed)
    return dataset(*train, True), dataset(*task["validation"]), dataset(*task["test"]), None


# Model


def make_backbone(args, input_shape, weights=None):
    """Images -> a feature vector: the kerasext CNN's body, or a keras.applications base
    (`kerasext.models.build_model` either way, without its head)."""
    if args.base == "cnn" and args.weights == "imagenet":
        raise ValueError("`--weights imagenet` needs a keras.applications `--base` (e.g. "
                         "MobileNetV3Small); the cnn backbone has no ImageNet weights. Received: --base cnn")
    if args.base != "cnn" and not hasattr(keras.applications, args.base):
        raise ValueError(f"`--base` must be cnn or a keras.applications name. Received: {args.base}")
    try:
        model = models.build_model(args.base, input_shape, 2, batch_norm=True, weights=weights, seed=args.seed)
    except Exception as error:  # noqa: BLE001 - offline: URL, socket or SSL errors of many kinds
        offline = not isinstance(error, ValueError) or "cannot be downloaded" in str(error)  # zoo's own words
        if weights != "imagenet" or not offline:
            raise
        raise ValueError(f"ImageNet weights for {args.base} cannot be downloaded here (no network?); pass "
                         "--weights PATH to a weights file, or --weights pretrain to pretrain on the source "
                         "classes.") from None
    return keras.Model(model.input, model.layers[-2].input, name="backbone")  # the features before the head


def make_classifier(args, input_shape, num_classes, backbone_weights=None, frozen=False):
    """A backbone (from `backbone_weights`, else freshly initialized) and a new seeded softmax head.

    `frozen`: feature extraction, the backbone not trained and its BatchNorm in inference mode.
    """
    backbone = make_backbone(args, input_shape)
    if backbone_weights is not None:
        backbone.set_weights(backbone_weights)
    backbone.trainable = not frozen
    inputs = keras.Input(input_shape)
    features = backbone(inputs, training=False) if frozen else backbone(inputs)
    head = keras.layers.Dense(num_classes, activation="softmax", dtype="float32",
                              kernel_initializer=keras.initializers.GlorotUniform(seed=args.seed))
    return keras.Model(inputs, head(features))


def unfreeze_top(backbone, layers):
    """Phase 2 of fine-tuning: the top `layers` of the backbone trainable, BatchNorm layers not."""
    backbone.trainable = True
    for layer in backbone.layers[:-layers]:
        layer.trainable = False
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False


# Train with and without


def adam(rate):
    return functools.partial(keras.optimizers.Adam, rate)


def variants(args, task, budget, pretrained):
    """name -> the variant for one label budget: from scratch, feature extraction, and phase 1
    of fine-tuning (the frozen half; phase 2 continues its model)."""
    data_ = functools.partial(task_data, task=task, budget=budget)
    transfer = {"backbone_weights": pretrained, "frozen": True}
    return {
        "from scratch": runner.Variant(optimizer=adam(LEARNING_RATE), data=data_),
        "feature extraction": runner.Variant(model=transfer, optimizer=adam(args.head_lr), data=data_),
        "fine-tuning, phase 1": runner.Variant(model=transfer, optimizer=adam(args.head_lr), data=data_,
                                               epochs=max(1, args.epochs // 2)),
    }


def pretrain(args, run, source, input_shape, n_source, start, save=True):
    """The backbone trained with a head on the source task; saved as backbone.weights.h5 (`save`)."""
    pretraining = {"pretrain": runner.Variant(optimizer=adam(LEARNING_RATE), epochs=args.pretrain_epochs,
                                              data=functools.partial(task_data, task=source))}
    build = functools.partial(make_classifier, input_shape=input_shape, num_classes=n_source,
                              backbone_weights=start)
    pre = runner.train_variants(args, pretraining, build, run=run if args.mode == "pretrain" else None)["pretrain"]
    if save:
        pre.model.get_layer("backbone").save_weights(run.path("backbone.weights.h5"))
    return pre


def fine_tune(args, model, task, budget, run):
    """Phase 2: the top backbone layers unfrozen, the rest of the epochs at a cosine learning rate
    (none with `--epochs 1`: the model is then measured as phase 1 left it)."""
    half = max(1, args.epochs // 2)
    unfreeze_top(model.get_layer("backbone"), args.fine_tune_layers)
    train, validation, test, _ = task_data(args, task=task, budget=budget)
    steps = (args.epochs - half) * math.ceil(len(few_labels(*task["train"], budget, args.seed)[1]) / args.batch_size)
    cosine = functools.partial(keras.optimizers.Adam, schedules.WarmupCosine(args.fine_tune_lr, max(steps, 1)))
    variant = runner.Variant(optimizer=cosine, epochs=args.epochs - half)
    return runner.train_variant(args, model, variant, train=train, validation=validation, test=test, run=run)


# Result


def comparison(args, argv, scores, budgets, target, n_target, source_note, seeds):
    """The table: test accuracy per method and label budget (mean ± 95% CI over the seeds), the
    paired difference to from scratch, and each transfer method judged at every budget."""
    half = max(1, args.epochs // 2)

    def budget_name(b):
        return f"{b} labels/class" if b else f"all labels ({len(target['train'][1]) // n_target}/class)"

    table = runner.Comparison(
        f"Transfer from classes {args.source_classes} to {args.target_classes} ({args.base} backbone, "
        f"weights: {args.weights if not args.weights.endswith('.h5') else 'file'}), {args.epochs} epochs each: "
        "test accuracy",
        [(f"acc_{b}", budget_name(b)) for b in budgets], claim=CLAIM, recipe="transfer_learning", seeds=seeds,
        shows="from scratch vs feature extraction vs fine-tuning, with 10 / 50 / all labels per class",
        command=runner.command_line("transfer_learning", argv))
    for method, by_budget in scores.items():
        table.add_seeds(method, [{f"acc_{b}": by_budget[b][i] for b in budgets} for i in range(len(seeds))])
    for b in budgets:
        table.add_effect(f"acc_{b}", "from scratch", header=f"{b or 'all'}/class − from scratch")
    for note in source_note:
        table.note(note)
    table.note(f"Learning rates (Adam): from scratch {LEARNING_RATE:g}; the new head on frozen features "
               f"{args.head_lr:g} (at {LEARNING_RATE:g} a linear head is still undertrained after these epochs).")
    table.note(f"Equal epochs: from scratch and feature extraction train {args.epochs} epochs; fine-tuning "
               f"trains {half} frozen, then {args.epochs - half} with the top {args.fine_tune_layers} backbone "
               f"layers unfrozen at a cosine learning rate from {args.fine_tune_lr:g}.")
    for b in budgets:
        for method in ("feature extraction", "fine-tuning"):
            table.judge(f"acc_{b}", "from scratch", method,
                        label=f"{method} − from scratch, test accuracy with {budget_name(b)}")
    return table


def transfer(args, run, budgets, input_shape, start, save):
    """One seed: pretrain (unless given weights), then each label budget's three methods.

    Returns:
        `({method: {budget: test accuracy}}, the run's fine-tuned result or None, source notes)`.
    """
    source, target, _, n_source, n_target = split_by_class(args)
    pretrained, notes = start, []
    if args.weights == "pretrain":
        with runner.scope(args):
            start = make_backbone(args, input_shape).get_weights()  # this seed's initial backbone
        pre = pretrain(args, run, source, input_shape, n_source, start, save=save)
        pretrained = pre.model.get_layer("backbone").get_weights()
        notes.append(f"Backbone pretrained on classes {args.source_classes} ({len(source['train'][1])} examples, "
                     f"{args.pretrain_epochs} epochs), seed {args.seed}: source test accuracy "
                     f"{pre.metrics['test_accuracy']:.4f}" + ("; saved as backbone.weights.h5." if save else "."))
        print(notes[-1])
    build = functools.partial(make_classifier, input_shape=input_shape, num_classes=n_target)
    scores, tuned = {"from scratch": {}, "feature extraction": {}, "fine-tuning": {}}, None
    for index, budget in enumerate(budgets):
        results = runner.train_variants(args, variants(args, target, budget, pretrained), build)
        last = index == len(budgets) - 1  # the last fine-tuned model is the run's
        tuned = fine_tune(args, results["fine-tuning, phase 1"].model, target, budget, run if last else None)
        results["fine-tuning"] = tuned
        for method in scores:
            scores[method][budget] = results[method].metrics["test_accuracy"]
    return scores, tuned, notes


def main(argv=None):
    args = runner.parse_args(build_parser(), argv)
    budgets = check_args(args)
    runner.setup(args)

    # Data: the source task (pretraining) and the target task, from the runner's split
    source, target, input_shape, n_source, n_target = split_by_class(args)

    # Model: the backbone to start from (ImageNet, a file, or the seeded CNN), with a head
    preset = None if args.weights in ("pretrain", "none") or args.weights.endswith(".h5") else args.weights
    with runner.scope(args):
        backbone = make_backbone(args, input_shape, weights=preset)  # fails here, before any file, offline
        if args.weights.endswith(".h5"):
            backbone.load_weights(args.weights)
        probe = make_classifier(args, input_shape, n_source, backbone_weights=backbone.get_weights())
        probe.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    data.check_targets(probe, source["train"][1])  # before anything is written

    # Train with and without: per seed, pretrain on the source task, then for each label budget
    # from scratch, feature extraction and fine-tuning (its two phases)
    run = runner.start_run(args)
    if args.mode == "pretrain":  # one backbone, the first seed's
        pre = pretrain(args, run, source, input_shape, n_source, backbone.get_weights())
        return run.finish(pre.model, pre.history, task_data(args, task=source)[2], None, extra={
            "shows": "pretraining a backbone on the source classes", "source_test_accuracy":
            pre.metrics["test_accuracy"], "command": runner.command_line("transfer_learning", argv)})
    seeds, notes = runner.seed_list(args), []
    scores = {m: {b: [] for b in budgets} for m in ("from scratch", "feature extraction", "fine-tuning")}
    for index, seed in enumerate(seeds):  # the first seed's last fine-tuned model is the run's
        seed_scores, tuned, seed_notes = transfer(runner.with_seed(args, seed), run if index == 0 else None, budgets,
                                                  input_shape, backbone.get_weights(), save=index == 0)
        if index == 0:
            final = tuned
        notes += seed_notes
        for method, by_budget in seed_scores.items():
            for budget, accuracy in by_budget.items():
                scores[method][budget].append(accuracy)

    # Result
    table = comparison(args, argv, scores, budgets, target, n_target, notes, seeds)
    table.write(run.directory)
    table.print()
    test = task_data(args, task=target, budget=budgets[-1])[2]
    return run.finish(final.model, final.history, test, None, extra={**table.to_dict(), "scores": scores})


if __name__ == "__main__":
    runner.run_cli(main)
