"""One path to train the variants of a comparison and measure them.

A comparison recipe declares its variants as data, `{name: Variant(...)}`, and one call,
`train_variants`, trains them all the same way: for each variant, load its data, reseed,
build its model inside `scope(args)` (the strategy's scope; `--remat` by `rematerialize`), create its
optimizer there from a function, compile, fit (the checkpointed variant through
`Run.fit`, so a killed run resumes), evaluate and measure. Every function it calls takes
the run's `args` first, so a variant depends on the seed only through `args.seed`; that is
how `train_seeds` repeats the whole comparison once per seed of `--seeds N`.
"""

import copy
import dataclasses
import logging
import math
from typing import Any, Callable, Optional

import keras

from kerasext import callbacks as kcallbacks
from kerasext import layers as klayers
from kerasext.data import Splits
from kerasext.runner.process import load_data, scope
from kerasext.runner.remat import rematerialize
from kerasext.runner.training import EpochTimer, VariantResult, evaluate_variant, summarize_history


@dataclasses.dataclass
class Variant:
    """What one variant of a comparison changes; everything else is the experiment's.

    Attributes:
        model: keyword options of the experiment's `build(args, **model)` (`{"dropout": 0.3}`).
            Defaults to `{}`.
        optimizer: a function returning a NEW optimizer, called inside the run's scope
            (`functools.partial(keras.optimizers.SGD, 0.01, momentum=0.9)` or a `def`), or
            what `keras.optimizers.get` takes (`"adam"`, a config dict). Never an optimizer
            instance: variants must not share one. Defaults to `"adam"`.
        loss: `compile`'s loss. Defaults to `"sparse_categorical_crossentropy"`.
        augment: names in `kerasext.layers.AUGMENTATIONS`, applied in order to training
            batches, built with the experiment's `augment_options` and `seed=args.seed`.
            Defaults to `()`.
        callbacks: more `fit` callbacks (schedules, early stopping); the backup keeps their
            state. Defaults to `()`.
        class_weight: `fit`'s `{class: weight}`. Defaults to `None`.
        epochs: epochs of this variant; `0` trains nothing (the model is only measured).
            Defaults to `None` (`args.epochs`).
        data: a function `(args, augment) -> (train, validation, test, info)` replacing the
            experiment's `data` for this variant (a fold, a label budget). Defaults to `None`.
    """

    model: dict = dataclasses.field(default_factory=dict)
    optimizer: Any = "adam"
    loss: Any = "sparse_categorical_crossentropy"
    augment: tuple = ()
    callbacks: tuple = ()
    class_weight: Optional[dict] = None
    epochs: Optional[int] = None
    data: Optional[Callable] = None


@dataclasses.dataclass
class TrainedVariant(VariantResult):
    """A `VariantResult` plus `callbacks`: the callbacks its `fit` used (the diagnosis among them)."""

    callbacks: list = dataclasses.field(default_factory=list)


def train_variants(
    args,
    variants,
    build,
    *,
    data=load_data,
    run=None,
    checkpoint=None,
    test=True,
    train_eval=False,
    target=None,
    diagnose=False,
    augment_options=None,
    metrics=("accuracy",),
    verbose=0,
):
    """Trains every variant from the same per-seed start and measures it.

    For each variant, in order: its data (`data(args, augment)`, a fresh training
    pipeline, so every variant sees the same batches), `keras.utils.set_random_seed(args.seed)`,
    `build(args, **variant.model)` inside `scope(args)` (a seeded builder such as
    `kerasext.models.build_model` gives every variant the same initial weights), then
    `train_variant`.

    Args:
        args: the run's parsed flags (`args.seed`, `args.epochs`, the strategy flags).
        variants: `{name: Variant}`, trained in this order.
        build: a function `(args, **options) -> keras.Model` (uncompiled).
        data: a function `(args, augment) -> (train, validation, test, info)`, with `augment`
            a list of layers or `None`. Defaults to `kerasext.runner.load_data`.
        run: the `Run`; the `checkpoint` variant trains through `Run.fit` with the run's
            callbacks (checkpoints, history.csv, TensorBoard). Defaults to `None`.
        checkpoint: the name of the variant the run records. Defaults to the last one.
        test: evaluate each variant on the data's test split (`test_*` metrics).
            Defaults to `True`.
        train_eval: evaluate on the training split without augmentation (inference mode:
            dropout off); adds `train_eval_accuracy` and `generalization_gap`.
            Defaults to `False`.
        target: validation accuracy to reach; adds `epochs_to_target`, `seconds_to_target`.
        diagnose: add a `kerasext.callbacks.LearningCurveDiagnosis` to every variant; its
            `verdict` and `reason` go into the metrics. Defaults to `False`.
        augment_options: keyword options of `kerasext.layers.get_augmentation`
            (`num_classes`, `cutout_size`, ...). Defaults to `None`.
        metrics: compile metrics. Defaults to `("accuracy",)`.
        verbose: `fit` verbosity. Defaults to `0`.

    Returns:
        `{name: TrainedVariant}` in the order of `variants`.

    Example:

    ```python
    variants = {
        "Adam": runner.Variant(optimizer=functools.partial(keras.optimizers.Adam, 1e-3)),
        "dropout 0.3": runner.Variant(model={"dropout": 0.3}),
    }
    results = runner.train_variants(args, variants, build, run=run)
    results["Adam"].metrics["test_accuracy"]
    ```
    """
    if not variants:
        raise ValueError(f"`variants` must not be empty. Received: variants={variants!r}")
    names = list(variants)
    checkpoint = names[-1] if checkpoint is None else checkpoint
    if checkpoint not in variants:
        raise ValueError(f"`checkpoint` must name a variant ({names}). Received: checkpoint={checkpoint!r}")
    for name, variant in variants.items():
        _check_variant(name, variant)
    results = {}
    for name, variant in variants.items():
        augment = [
            klayers.get_augmentation(a, seed=args.seed, **(augment_options or {}))
            for a in variant.augment
        ]
        load = variant.data or data
        train, validation, test_split = load(args, augment or None)[:3]
        clean = load(args, None)[0] if train_eval else None
        keras.utils.set_random_seed(args.seed)
        with scope(args):
            model = build(args, **variant.model)
        extra = [kcallbacks.LearningCurveDiagnosis(verbose=False)] if diagnose else []
        results[name] = train_variant(
            args, model, dataclasses.replace(variant, callbacks=(*extra, *variant.callbacks)),
            train=train, validation=validation, test=test_split if test else None,
            train_eval=clean, run=run if name == checkpoint else None, target=target,
            metrics=metrics, verbose=verbose,
        )
        _log_progress(args, name, results[name].metrics)
    return results


def seed_list(args):
    """The seeds of a run: `args.seed`, `args.seed + 1`, ..., `args.seed + args.seeds - 1`
    (just `[args.seed]` for flags without `--seeds`)."""
    return [args.seed + i for i in range(getattr(args, "seeds", None) or 1)]


def with_seed(args, seed):
    """A copy of `args` with `seed`: what every function of one seed's comparison is given."""
    seeded = copy.copy(args)
    seeded.seed = seed
    return seeded


@dataclasses.dataclass
class SeedRuns:
    """Every variant trained once per seed: what `train_seeds` returns.

    Attributes:
        seeds: the seeds, in order.
        runs: `{name: [TrainedVariant, ...]}`, one per seed, in the order of `seeds`. Only
            the first seed's keep their `model` and `callbacks` unless `keep_models`.
    """

    seeds: list
    runs: dict

    @property
    def first(self):
        """`{name: TrainedVariant}` of the first seed (the one the run records)."""
        return {name: runs[0] for name, runs in self.runs.items()}

    def metrics(self, name):
        """The metrics dicts of variant `name`, one per seed in the order of `seeds`."""
        return [result.metrics for result in self.runs[name]]


def train_seeds(args, variants, build, *, run=None, checkpoint=None, measure=None, keep_models=False,
                **options):
    """`train_variants` once per seed of `--seeds N`: the comparison, repeated.

    For each seed `s` of `seed_list(args)`, `train_variants(with_seed(args, s), ...)`: the
    split, the shuffle, the augmentation draws and the initial weights all follow `s`, and
    every variant of a seed gets the same ones, so per seed the variants' differences are
    paired (`kerasext.runner.stats.paired_effect`).

    Only the first seed's `checkpoint` variant trains through `run`: the run's model.keras,
    metrics.json, curves.png and backup are that (seed, variant)'s, exactly as with one seed.
    The other runs are not checkpointed; a killed run, resumed, trains them again from their
    seeds, so results of two different starts never mix.

    Args:
        args: the run's flags; `args.seeds` seeds (`make_parser(comparison=True)`), else one.
        variants: a function `(args) -> {name: Variant}`, called with each seed's `args` (so
            callbacks such as `EarlyStopping` are new per seed), or one `{name: Variant}`
            whose callbacks every seed reuses.
        build: a function `(args, **options) -> keras.Model`, as in `train_variants`.
        run: the `Run`. Defaults to `None`.
        checkpoint: the name of the variant the run records. Defaults to the last one.
        measure: a function `(args, name, result) -> dict` called after each variant of each
            seed, with that seed's `args`; the dict joins `result.metrics` (what needs the
            trained model: a recall per class, an error on other data). Defaults to `None`.
        keep_models: keep every seed's models and callbacks. Defaults to `False`: only the
            first seed's are kept, so memory does not grow with the seeds.
        **options: the other keyword arguments of `train_variants` (`data`, `target`, ...).

    Returns:
        A `SeedRuns`.

    Example:

    ```python
    results = runner.train_seeds(args, variants, build, run=run)  # variants(args) -> {name: Variant}
    table.add_seeds("Adam", results.metrics("Adam"))
    final = results.first["Adam"]  # the run's model
    ```
    """
    seeded_args = [with_seed(args, seed) for seed in seed_list(args)]
    chosen = [variants(seeded) if callable(variants) else variants for seeded in seeded_args]
    for seeded, names in zip(seeded_args, chosen):
        if list(names) != list(chosen[0]):  # before anything trains
            raise ValueError(f"`variants` must give the same names for every seed. Received: {list(names)} "
                             f"for seed {seeded.seed}, {list(chosen[0])} for seed {args.seed}")
    runs = {}
    for index, (seeded, variants_of_seed) in enumerate(zip(seeded_args, chosen)):
        results = train_variants(seeded, variants_of_seed, build, run=run if index == 0 else None,
                                 checkpoint=checkpoint, **options)
        for name, result in results.items():
            if measure is not None:
                result.metrics.update(measure(seeded, name, result) or {})
            if index > 0 and not keep_models:
                result = dataclasses.replace(result, model=None, callbacks=[])
            runs.setdefault(name, []).append(result)
    return SeedRuns([seeded.seed for seeded in seeded_args], runs)


def train_variant(
    args,
    model,
    variant,
    *,
    train,
    validation=None,
    test=None,
    train_eval=None,
    run=None,
    target=None,
    metrics=("accuracy",),
    verbose=0,
):
    """Reseeds, compiles `model` for `variant` inside the run's scope, trains it and measures it.

    The step `train_variants` takes for each variant; call it directly to continue
    training a model it returned (a second stage of fine-tuning).

    Args:
        args: the run's parsed flags.
        model: a built `keras.Model`, trained from its current weights.
        variant: a `Variant` (its `model`, `augment` and `data` are the caller's business here).
        train, validation: datasets of `(inputs, targets)` batches.
        test: a dataset to evaluate on after training (`test_*` metrics).
        train_eval: the training data without augmentation: adds `train_eval_accuracy` and
            `generalization_gap` (clean train accuracy minus test accuracy).
        run: a `Run` to train through (`Run.fit`: checkpoints, history.csv, resume).
        target, metrics, verbose: as in `train_variants`.

    Returns:
        A `TrainedVariant`.
    """
    keras.utils.set_random_seed(args.seed)  # dropout masks and the like: the same draws per variant
    with scope(args):
        model.compile(optimizer=make_optimizer(variant.optimizer), loss=variant.loss,
                      metrics=list(metrics) or None)
    if getattr(args, "remat", False):
        rematerialize(model)  # --remat for every variant (Run.fit does it too; twice is once)
    callbacks = list(variant.callbacks)
    timer = _Timer()
    epochs = variant.epochs if variant.epochs is not None else args.epochs
    options = dict(validation_data=validation, verbose=verbose, class_weight=variant.class_weight)
    if epochs == 0:
        history = {}  # nothing to train (a second phase left without epochs): measured as it is
    elif run is not None:
        # The run's callbacks come after the variant's (the backup saves their state), the
        # timer last, as before: seconds include checkpointing.
        fit_callbacks = [*callbacks, *run.callbacks(train, track=callbacks), timer]
        history = run.fit(model, train, epochs, callbacks=fit_callbacks, **options)
    else:
        history = model.fit(train, epochs=epochs, callbacks=[*callbacks, timer], shuffle=False, **options)
    history = getattr(history, "history", history)
    timed = getattr(timer, "seconds", [])  # none without an epoch
    seconds = [math.nan] * (len(history.get("loss", [])) - len(timed)) + timed
    summary = evaluate_variant(model, summarize_history(history, seconds, target=target),
                               test=test, train_eval=train_eval)
    diagnoses = [c for c in callbacks if hasattr(c, "verdict")]  # a LearningCurveDiagnosis
    if diagnoses:
        verdict = diagnoses[0].verdict or {}
        summary["verdict"], summary["reason"] = verdict.get("verdict"), verdict.get("reason")
    return TrainedVariant(history, seconds, summary, model, callbacks)


def make_optimizer(spec):
    """A new optimizer from a `Variant.optimizer`: a function returning one, or a Keras spec.

    Raises:
        ValueError: for an optimizer instance (variants would share its state) or anything
            that does not make an optimizer.
    """
    if isinstance(spec, keras.optimizers.Optimizer):
        raise ValueError(
            "`optimizer` must be a function returning a new optimizer (or a name or config), "
            f"not an instance that every variant would share. Received: optimizer={spec!r}"
        )
    optimizer = spec() if callable(spec) else keras.optimizers.get(spec)
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise ValueError(f"`optimizer` must make a keras.optimizers.Optimizer. Received: optimizer={spec!r}")
    return optimizer


def one_hot(dataset, num_classes):
    """Integer labels as one-hot vectors; labels already soft (a label mixer's) stay as they are."""
    if dataset.element_spec[1].shape.rank == 2:
        return dataset
    return dataset.map(lambda x, y: (x, keras.ops.one_hot(y, num_classes)))


def load_one_hot(args, augment=None):
    """`load_data` with one-hot labels in every split, so variants with and without a label
    mixer (Mixup, CutMix) share one loss and one accuracy."""
    train, validation, test, info = load_data(args, augment=augment)
    n = info.num_classes
    return Splits(one_hot(train, n), one_hot(validation, n), one_hot(test, n), info)


class _Timer(EpochTimer):
    """`EpochTimer` that keeps counting across the two `fit` calls of a run resumed mid-epoch."""

    def on_train_begin(self, logs=None):
        if not hasattr(self, "seconds"):
            super().on_train_begin(logs)


def _log_progress(args, name, metrics):
    if getattr(args, "seeds", 1) > 1:
        name = f"{name} (seed {args.seed})"
    done = [f"{metrics['epochs']} epochs"]
    for key in ("val_accuracy", "test_accuracy"):
        if isinstance(metrics.get(key), float):
            done.append(f"{key.replace('_', ' ')} {metrics[key]:.4f}")
    if isinstance(metrics.get("seconds"), float) and math.isfinite(metrics["seconds"]):
        done.append(f"{metrics['seconds']:.1f} s")
    logging.getLogger("kerasext").info("[%s] trained %s: %s", getattr(args, "recipe", "variants"),
                                       name, ", ".join(done))


def _check_variant(name, variant):
    if not isinstance(variant, Variant):
        raise ValueError(f"Each variant must be a `Variant`. Received: {name!r}: {variant!r}")
    if isinstance(variant.augment, str):
        raise ValueError(f"`augment` must be a tuple of names. Received: {name!r}: augment={variant.augment!r}")
