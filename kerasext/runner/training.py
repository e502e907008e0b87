"""Train one variant from given initial weights and measure it."""

import contextlib
import dataclasses
import math
import time

import keras


class EpochTimer(keras.callbacks.Callback):
    """Records the seconds since `fit` started at the end of every epoch (`self.seconds`)."""

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()
        self.seconds = []

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


@dataclasses.dataclass
class VariantResult:
    """What `fit_variant` measured.

    Attributes:
        history: the Keras history dict (per-epoch lists).
        seconds: seconds since `fit` started, at the end of each epoch.
        metrics: the summary dict (see `summarize_history`), plus `test_*` metrics when a
            test set was given and `train_eval_accuracy` for a clean training-set pass.
        model: the trained model.
    """

    history: dict
    seconds: list
    metrics: dict
    model: keras.Model = None


def epochs_to_target(history, target, key="val_accuracy", seconds=None):
    """The first epoch (1-based) at which `history[key] >= target`, and its seconds.

    Returns:
        `(epoch, seconds)`, each `None` when the target was never reached (or no
        `seconds` were given).
    """
    for index, value in enumerate(history.get(key, [])):
        if value is not None and value >= target - 1e-6:  # float32 metrics: 171/180 is 0.9499999
            return index + 1, (round(seconds[index], 2) if seconds else None)
    return None, None


def summarize_history(history, seconds=None, target=None, key="accuracy"):
    """Final and best numbers of a history, the train/validation gap, and time to target.

    Args:
        history: a Keras `History` or its dict.
        seconds: cumulative seconds per epoch (`EpochTimer.seconds`). Defaults to `None`.
        target: a validation value of `key` to reach; adds `epochs_to_target` and
            `seconds_to_target`. Defaults to `None`.
        key: the metric. Defaults to `"accuracy"`.

    Returns:
        A dict: `epochs`, `seconds`, `train_<key>`, `val_<key>`, `best_val_<key>`,
        `best_epoch`, `loss`, `val_loss`, `gap` (final train minus validation `key`).
    """
    history = getattr(history, "history", history)
    train, val = history.get(key, []), history.get(f"val_{key}", [])
    summary = {
        "epochs": len(history.get("loss", [])),
        "seconds": round(seconds[-1], 2) if seconds else None,
        f"train_{key}": _last(train),
        f"val_{key}": _last(val),
        f"best_val_{key}": max(val) if val else None,
        "best_epoch": (val.index(max(val)) + 1) if val else None,
        "loss": _last(history.get("loss", [])),
        "val_loss": _last(history.get("val_loss", [])),
        "gap": (train[-1] - val[-1]) if train and val else None,
    }
    if target is not None:
        epoch, secs = epochs_to_target(history, target, f"val_{key}", seconds)
        summary["epochs_to_target"] = epoch
        summary["seconds_to_target"] = secs
    return summary


def fit_variant(
    model,
    train,
    validation=None,
    *,
    epochs,
    initial_weights=None,
    optimizer=None,
    loss=None,
    metrics=("accuracy",),
    callbacks=(),
    test=None,
    train_eval=None,
    target=None,
    strategy=None,
    seed=None,
    class_weight=None,
    verbose=0,
):
    """Resets `model` to `initial_weights`, compiles it afresh, trains it, and measures it.

    Every variant of a comparison starts from the same weights (take them once with
    `model.get_weights()` right after building) and a new optimizer, so the variants
    differ only in what the caller changes.

    Args:
        model: a built `keras.Model`.
        train, validation: datasets of `(inputs, targets)` batches.
        epochs: int >= 1.
        initial_weights: the list from `model.get_weights()`; `None` keeps the current ones.
        optimizer, loss: passed to `compile` (with `metrics`) when `optimizer` is given:
            a NEW optimizer instance per variant, or a function returning one (called in
            `strategy`'s scope). `None` keeps the existing compile.
        metrics: compile metrics. Defaults to `("accuracy",)`.
        callbacks: more `fit` callbacks (schedules, early stopping, diagnosis).
        test: a dataset to evaluate on after training; adds `test_<metric>` entries.
        train_eval: the training data WITHOUT augmentation; adds `train_eval_accuracy`
            and `generalization_gap` (clean train accuracy minus test accuracy), the honest
            gap when augmentation makes the running training accuracy meaningless.
        target: validation accuracy to reach; adds `epochs_to_target`, `seconds_to_target`.
        strategy: a `tf.distribute.Strategy` to compile in. Defaults to `None` (current).
        seed: reseeds Python, NumPy and Keras before training, so every variant draws the
            same random numbers (dropout masks, augmentation). Pass a freshly loaded `train`
            per variant too: a seeded `tf.data` shuffle gives each new pass a new order.
            Defaults to `None` (no reseeding).
        class_weight: `fit`'s `{class: weight}`. Defaults to `None`.
        verbose: `fit` verbosity. Defaults to `0`.

    Returns:
        A `VariantResult`.

    Example:

    ```python
    weights = model.get_weights()
    plain = fit_variant(model, train, val, epochs=10, initial_weights=weights,
                        optimizer=keras.optimizers.Adam(1e-3),
                        loss="sparse_categorical_crossentropy", test=test)
    plain.metrics["test_accuracy"]
    ```
    """
    if seed is not None:
        keras.utils.set_random_seed(seed)
    if initial_weights is not None:
        model.set_weights(initial_weights)
    if optimizer is not None:
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            if callable(optimizer) and not isinstance(optimizer, keras.optimizers.Optimizer):
                optimizer = optimizer()  # a factory: the optimizer is created in the scope
            model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics))
    timer = EpochTimer()
    history = model.fit(
        train, validation_data=validation, epochs=epochs,
        callbacks=[*callbacks, timer], verbose=verbose, shuffle=False, class_weight=class_weight,
    )
    summary = evaluate_variant(model, summarize_history(history, timer.seconds, target=target),
                               test=test, train_eval=train_eval)
    return VariantResult(history.history, timer.seconds, summary, model)


def evaluate_variant(model, summary, test=None, train_eval=None):
    """Adds `test_<metric>` entries, and with `train_eval` (the training data without
    augmentation) `train_eval_accuracy` and `generalization_gap`, to `summary`; returns it."""
    if test is not None:
        for name, value in model.evaluate(test, return_dict=True, verbose=0).items():
            summary[f"test_{name}"] = float(value)
    if train_eval is not None:
        clean = model.evaluate(train_eval, return_dict=True, verbose=0)
        summary["train_eval_accuracy"] = float(clean.get("accuracy", math.nan))
        if "test_accuracy" in summary:
            summary["generalization_gap"] = summary["train_eval_accuracy"] - summary["test_accuracy"]
    return summary


def _last(values):
    return float(values[-1]) if values else None
