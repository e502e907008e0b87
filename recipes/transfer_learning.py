"""Transfer learning: from scratch vs feature extraction vs fine-tuning at every label budget,
with equal optimizer steps, shown for real offline by pretraining a backbone on half the classes.

The guide says transfer learning "is a powerful method for improving models, especially with
small datasets", through feature extraction (the pretrained model as a fixed feature
extractor) and fine-tuning (adjusting its layers), and that "both methods significantly boost
performance". ImageNet weights cannot be downloaded on this machine, so by default the
recipe first pretrains a backbone on a source task (classes 0-4), then transfers it to the
target task (classes 5-9) with 10, 50 and all labels per class: phase 1 feature extraction
(backbone frozen, BatchNorm in inference mode, a new head), phase 2 fine-tuning (the top
layers unfrozen at a lower learning rate with a cosine schedule), and a from-scratch control.

Every method trains the same number of optimizer steps (`--steps`, default 200) at every label
budget: the labeled examples are repeated, in a new order each pass, into full batches, so 10
labels per class get as many updates as all of them (equal epochs would give from scratch 20
updates with 10 labels per class and 230 with all). The steps are read back from each
optimizer's iteration count and shown under the table. All of it runs once per seed
(`--seeds`, default 3: another split, another pretraining, other label draws and weights);
cells are the mean ± 95% CI over the seeds, each transfer method is judged against from
scratch at every label budget by its paired difference in test accuracy (agrees, disagrees,
inconclusive), and a summary line says, budget by budget, where transfer helps and where from
scratch is as good or better.

Run (defaults: digits, the kerasext CNN backbone with BatchNorm, 3 seeds, 200 steps; measured on
this project's 2-core machine: 8 min 13 s of wall time while other jobs kept its load average near
9, 3 min 17 s of CPU time):

    python recipes/transfer_learning.py
    python recipes/transfer_learning.py --steps 400                    # more updates for every method
    python recipes/transfer_learning.py --mode pretrain                 # save backbone.weights.h5 only
    python recipes/transfer_learning.py --weights runs/transfer_learning/<time>/backbone.weights.h5
    python recipes/transfer_learning.py --base MobileNetV3Small --weights imagenet \
        --image-size 32 --channels 3                                    # needs network or a weights file
    python recipes/transfer_learning.py --dataset ../shared/data/cifar10_test.npz --labels-per-class 10,100

It writes the runner's files for the first seed's last fine-tuned model, `backbone.weights.h5`
(the first seed's, when it pretrains), and `comparison.md` (test accuracy per method and label
budget, the verdicts and the summary). `--mode pretrain` trains one backbone (the first seed's).
"""

import functools

import numpy as np

from kerasext import runner  # first: starts TensorFlow without its C++ log lines
import keras
import tensorflow as tf  # tf.data: the training stream of a fixed number of steps
from kerasext import data, models, schedules
from recipes import _data

DEFAULTS = dict(epochs=10, batch_size=32)  # --epochs: validations, each after steps / epochs steps
STEPS, MAX_STEPS = 200, 1_000_000  # optimizer steps of every method at every label budget
SOURCE, TARGET, LABELS = "0,1,2,3,4", "5,6,7,8,9", "10,50,0"
LEARNING_RATE, HEAD_LR, FINE_TUNE_LR, FINE_TUNE_LAYERS = 1e-3, 1e-2, 1e-4, 6
METHODS = ("from scratch", "feature extraction", "fine-tuning")
CLAIM = "feature extraction and fine-tuning significantly boost performance, especially with small datasets"


def build_parser():
    parser = runner.make_parser("transfer_learning", __doc__, comparison=True, **DEFAULTS)
    group = parser.add_argument_group("transfer")
    group.add_argument("--mode", default="transfer", choices=("transfer", "pretrain"))
    group.add_argument("--base", default="cnn", help="cnn (kerasext, with BatchNorm) or a keras.applications name")
    group.add_argument("--width", type=runner.flags.width, default=None,
                       help="filters of the cnn base's first block, doubled each block (default 32; cnn only)")
    group.add_argument("--weights", default="pretrain",
                       help="pretrain (on the source classes, here), imagenet, none, or a .weights.h5 PATH")
    group.add_argument("--source-classes", default=SOURCE)
    group.add_argument("--target-classes", default=TARGET)
    group.add_argument("--labels-per-class", default=LABELS, help="label budgets to compare; 0 means all")
    group.add_argument("--steps", type=runner.flags.int_at_least(1, MAX_STEPS), default=STEPS,
                       help="optimizer steps of every method at every label budget, a multiple of --epochs "
                       f"(each epoch trains steps / epochs full batches, then validates; default {STEPS})")
    group.add_argument("--pretrain-epochs", type=runner.flags.positive_int, default=10)
    group.add_argument("--fine-tune-layers", type=runner.flags.positive_int, default=FINE_TUNE_LAYERS,
                       help="top backbone layers unfrozen in phase 2 (BatchNorm layers stay frozen)")
    group.add_argument("--head-lr", type=float, default=HEAD_LR,
                       help="Adam LR of the new head on frozen features (a linear layer takes a larger one)")
    group.add_argument("--fine-tune-lr", type=float, default=FINE_TUNE_LR, help="peak LR of phase 2 (cosine)")
    return parser


def check_args(args):
    """The label budgets; a `ValueError` naming the flag for a bad value (exit code 2)."""
    for flag in ("head_lr", "fine_tune_lr"):
        if not getattr(args, flag) > 0:
            raise ValueError(f"`--{flag.replace('_', '-')}` must be > 0. Received: {getattr(args, flag)}")
    if args.mode == "transfer" and args.steps % args.epochs:
        raise ValueError(f"`--steps` must be a multiple of `--epochs` (each epoch trains steps / epochs "
                         f"batches). Received: --steps {args.steps} --epochs {args.epochs}")
    budgets = ints(args.labels_per_class, "labels-per-class")
    if len(set(budgets)) != len(budgets):
        raise ValueError(f"`--labels-per-class` must not repeat a budget. Received: {args.labels_per_class!r}")
    return budgets


def ints(text, flag):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 0:
        raise ValueError(f"`--{flag}` must be comma-separated integers >= 0. Received: {text!r}")
    return values


def steps_per_epoch(args):
    return args.steps // args.epochs


def phases(args):
    """Fine-tuning's epochs: `(frozen, unfrozen)`, together `--epochs` (`(1, 0)` with `--epochs 1`)."""
    frozen = max(1, args.epochs // 2)
    return frozen, args.epochs - frozen


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


def stream(x, y, batch_size, steps, seed):
    """Training batches of a fixed count: the examples in a new seeded order each pass, the passes
    joined and cut into full batches, `steps` batches per epoch (whatever the number of examples).

    Each epoch starts a fresh pass; the order of pass `p` is a function of `(seed, p)`, so every
    method given the same seed trains on the same batches.
    """
    passes = data.make_dataset(x, y, batch_size, shuffle=True, seed=seed)  # a new order each pass
    batches = passes.repeat().unbatch().batch(batch_size, drop_remainder=True).take(steps)
    # A known length: Keras then stops each epoch at `steps` optimizer steps exactly.
    return batches.apply(tf.data.experimental.assert_cardinality(steps))


def task_data(args, augment=None, *, task, budget=0, steps=None, phase=0):
    """A task's pipelines, its training split cut to `budget` labels per class (0: all).

    `steps`: training batches per epoch (`stream`), `None` for plain epochs (pretraining).
    `phase`: fine-tuning's unfrozen phase (1) draws its own order of batches.
    """
    def dataset(x, y, shuffle=False):
        return data.make_dataset(x, y, args.batch_size, shuffle=shuffle, seed=args.seed)

    x, y = few_labels(*task["train"], budget, args.seed)
    train = dataset(x, y, True) if steps is None else stream(x, y, args.batch_size, steps,
                                                              seed=args.seed + phase * 2**32)
    return train, dataset(*task["validation"]), dataset(*task["test"]), None


# Model


def make_backbone(args, input_shape, weights=None):
    """Images -> a feature vector: the kerasext CNN's body, or a keras.applications base
    (`kerasext.models.build_model` either way, without its head)."""
    if args.base == "cnn" and args.weights == "imagenet":
        raise ValueError("`--weights imagenet` needs a keras.applications `--base` (e.g. "
                         "MobileNetV3Small); the cnn backbone has no ImageNet weights. Received: --base cnn")
    if args.base != "cnn" and not hasattr(keras.applications, args.base):
        raise ValueError(f"`--base` must be cnn or a keras.applications name. Received: {args.base}")
    if args.base != "cnn" and args.width is not None:
        raise ValueError(f"`--width` applies to the cnn base only. Received: --width {args.width} "
                         f"with --base {args.base}")
    try:
        model = models.build_model(args.base, input_shape, 2, batch_norm=True, weights=weights,
                                   width=args.width, seed=args.seed)
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


def optimizer_steps(model):
    """The optimizer steps `model` was trained for since its last compile, as its optimizer counted them."""
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


def variants(args, task, budget, pretrained):
    """name -> the variant for one label budget: from scratch, feature extraction, and phase 1
    of fine-tuning (the frozen half; phase 2 continues its model). Every epoch is
    `steps_per_epoch(args)` steps."""
    data_ = functools.partial(task_data, task=task, budget=budget, steps=steps_per_epoch(args))
    transfer = {"backbone_weights": pretrained, "frozen": True}
    return {
        "from scratch": runner.Variant(optimizer=adam(LEARNING_RATE), data=data_),
        "feature extraction": runner.Variant(model=transfer, optimizer=adam(args.head_lr), data=data_),
        "fine-tuning, phase 1": runner.Variant(model=transfer, optimizer=adam(args.head_lr), data=data_,
                                               epochs=phases(args)[0]),
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
    """Phase 2: the top backbone layers unfrozen for the rest of the steps at a cosine learning
    rate (none with `--epochs 1`: the model is then measured as phase 1 left it)."""
    epochs = phases(args)[1]
    unfreeze_top(model.get_layer("backbone"), args.fine_tune_layers)
    train, validation, test, _ = task_data(args, task=task, budget=budget, steps=steps_per_epoch(args), phase=1)
    cosine = functools.partial(keras.optimizers.Adam, schedules.WarmupCosine(
        args.fine_tune_lr, max(epochs * steps_per_epoch(args), 1)))
    variant = runner.Variant(optimizer=cosine, epochs=epochs)
    return runner.train_variant(args, model, variant, train=train, validation=validation, test=test, run=run)


def transfer(args, run, budgets, input_shape, start, save):
    """One seed: pretrain (unless given weights), then each label budget's three methods.

    Returns:
        `({method: {budget: test accuracy}}, {method: {budget: optimizer steps}}, the run's
        fine-tuned result, source notes)`.
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
    scores, steps, tuned = {m: {} for m in METHODS}, {m: {} for m in METHODS}, None
    for index, budget in enumerate(budgets):
        results = runner.train_variants(args, variants(args, target, budget, pretrained), build)
        frozen_steps = optimizer_steps(results["fine-tuning, phase 1"].model)  # before phase 2 recompiles
        last = index == len(budgets) - 1  # the last fine-tuned model is the run's
        tuned = fine_tune(args, results["fine-tuning, phase 1"].model, target, budget, run if last else None)
        results["fine-tuning"] = tuned
        for method in METHODS:
            scores[method][budget] = results[method].metrics["test_accuracy"]
            steps[method][budget] = optimizer_steps(results[method].model)
        steps["fine-tuning"][budget] += frozen_steps
    return scores, steps, tuned, notes


# Result


def budget_names(budgets, target, n_target):
    """`{budget: "10 labels/class", 0: "all labels (143/class)"}`."""
    return {b: f"{b} labels/class" if b else f"all labels ({len(target['train'][1]) // n_target}/class)"
            for b in budgets}


def comparison(args, argv, scores, steps, names, notes, seeds):
    """The table: test accuracy per method and label budget (mean ± 95% CI over the seeds), the
    paired difference to from scratch, each transfer method judged at every budget, the
    optimizer steps each method took, and the summary line (`summarize`)."""
    budgets = list(names)
    frozen, unfrozen = phases(args)
    per_epoch = steps_per_epoch(args)
    table = runner.Comparison(
        f"Transfer from classes {args.source_classes} to {args.target_classes} ({args.base} backbone, "
        f"weights: {args.weights if not args.weights.endswith('.h5') else 'file'}), {args.steps} optimizer "
        "steps each: test accuracy",
        [(f"acc_{b}", names[b]) for b in budgets], claim=CLAIM, recipe="transfer_learning", seeds=seeds,
        shows="from scratch vs feature extraction vs fine-tuning at equal optimizer steps, with "
              + " / ".join(str(b) if b else "all" for b in budgets) + " labels per class",
        command=runner.command_line("transfer_learning", argv))
    for method in METHODS:
        table.add_seeds(method, [{**{f"acc_{b}": scores[method][b][i] for b in budgets},
                                  **{f"steps_{b}": steps[method][b][i] for b in budgets}}
                                 for i in range(len(seeds))])
    for b in budgets:
        table.add_effect(f"acc_{b}", "from scratch", header=f"{b or 'all'}/class − from scratch")
    for note in notes:
        table.note(note)
    table.note(f"Learning rates (Adam): from scratch {LEARNING_RATE:g}; the new head on frozen features "
               f"{args.head_lr:g} (at {LEARNING_RATE:g} a linear head is still undertrained after these steps).")
    table.note(f"Equal optimizer steps: at every label budget each method trains {args.steps} steps of "
               f"{args.batch_size} examples, {args.epochs} epochs of {per_epoch} steps (the labeled examples "
               f"repeated in a new order each pass). From scratch and feature extraction train all of them; "
               f"fine-tuning trains {frozen * per_epoch} frozen, then {unfrozen * per_epoch} with the top "
               f"{args.fine_tune_layers} backbone layers unfrozen at a cosine learning rate from "
               f"{args.fine_tune_lr:g}.")
    table.note(steps_note(args, steps))
    for b in budgets:
        for method in METHODS[1:]:
            table.judge(f"acc_{b}", "from scratch", method,
                        label=f"{method} − from scratch, test accuracy with {names[b]}")
    line, _ = summarize(table, names)
    table.note(line)
    return table


def steps_note(args, steps):
    """What each method's optimizer counted, over every budget and seed, and whether it is `--steps`."""
    counted = {m: sorted({s for by_seed in steps[m].values() for s in by_seed}) for m in METHODS}
    equal = all(values == [args.steps] for values in counted.values())
    return ("Optimizer steps, read from each optimizer's iteration count after training (every budget and "
            "seed; fine-tuning's two phases added): "
            + ", ".join(f"{m} {'/'.join(map(str, counted[m]))}" for m in METHODS)
            + ("; equal, as designed." if equal else f"; NOT all equal to --steps {args.steps}: this is not an "
               "equal-steps comparison."))


# What one budget's two verdicts say: both the same, or each its own.
BOTH = {"agrees": "transfer helps", "disagrees": "from scratch better than both",
        "inconclusive": "inconclusive, no difference beyond the noise"}
EACH = {"agrees": "helps", "disagrees": "worse than from scratch", "inconclusive": "inconclusive"}


def summarize(table, names):
    """One line, budget by budget, on where transfer helps and where from scratch is as good or
    better, from `table`'s judgments; and one verdict per budget, `{"with <budget>": verdict}`:
    agrees when both transfer methods agree, disagrees when either disagrees, else inconclusive
    (the README table shows each; `tools/recipes_table.py` reads them as `results["verdicts"]`)."""
    parts, verdicts = [], {}
    for budget, name in names.items():
        judged = [j for j in table.judgments if j["metric"] == f"acc_{budget}"]
        found = [j["verdict"] for j in judged]
        verdicts[f"with {name}"] = ("disagrees" if "disagrees" in found
                                    else "agrees" if all(v == "agrees" for v in found) else "inconclusive")
        if len(set(found)) == 1:
            effects = ", ".join(f"{j['treatment']} {effect_text(j['effect'])}" for j in judged)
            parts.append(f"with {name}, {BOTH[found[0]]} ({effects})")
        else:
            parts.append(f"with {name}, " + ", ".join(
                f"{j['treatment']} {EACH[j['verdict']]} ({effect_text(j['effect'])})" for j in judged))
    seeds = len(table.seeds)
    line = (f"Summary (each transfer method − from scratch, test accuracy, 95% CI over {seeds} "
            f"seed{'s' if seeds != 1 else ''}): " + "; ".join(parts) + ".")
    return line, verdicts


def effect_text(effect):
    text = f"{effect['mean']:+.4f}"
    if effect.get("low") is not None and effect.get("high") is not None:
        text += f" ± {(effect['high'] - effect['low']) / 2:.4f}"
    return text


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
    # from scratch, feature extraction and fine-tuning (its two phases), each `--steps` steps
    run = runner.start_run(args)
    if args.mode == "pretrain":  # one backbone, the first seed's
        pre = pretrain(args, run, source, input_shape, n_source, backbone.get_weights())
        return run.finish(pre.model, pre.history, task_data(args, task=source)[2], None, extra={
            "shows": "pretraining a backbone on the source classes", "source_test_accuracy":
            pre.metrics["test_accuracy"], "command": runner.command_line("transfer_learning", argv)})
    seeds, notes = runner.seed_list(args), []
    scores = {m: {b: [] for b in budgets} for m in METHODS}
    steps = {m: {b: [] for b in budgets} for m in METHODS}
    for index, seed in enumerate(seeds):  # the first seed's last fine-tuned model is the run's
        seed_scores, seed_steps, tuned, seed_notes = transfer(
            runner.with_seed(args, seed), run if index == 0 else None, budgets, input_shape,
            backbone.get_weights(), save=index == 0)
        if index == 0:
            final = tuned
        notes += seed_notes
        for method in METHODS:
            for budget in budgets:
                scores[method][budget].append(seed_scores[method][budget])
                steps[method][budget].append(seed_steps[method][budget])

    # Result: the table, a verdict per method and label budget, and the summary line
    names = budget_names(budgets, target, n_target)
    table = comparison(args, argv, scores, steps, names, notes, seeds)
    table.write(run.directory)
    table.print()
    summary, verdicts = summarize(table, names)
    print(summary)
    test = task_data(args, task=target, budget=budgets[-1])[2]
    return run.finish(final.model, final.history, test, None, extra={
        **table.to_dict(), "scores": scores, "optimizer_steps": steps, "verdicts": verdicts,
        "summary": summary})


if __name__ == "__main__":
    runner.run_cli(main)
