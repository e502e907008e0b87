"""Learning-curve diagnosis: overfitting, underfitting or healthy, per epoch."""

import json
import math
import os

import keras

from kerasext._validation import check_int
from kerasext._validation import check_non_negative
from kerasext._validation import check_positive

VERDICTS = ("overfitting", "underfitting", "healthy")


def _fmt(value):
    return "n/a" if value is None else f"{value:.4g}"


def diagnose(
    losses,
    val_losses=None,
    patience=3,
    gap_threshold=0.5,
    underfit_threshold=0.5,
    flat_threshold=0.01,
    min_delta=0.0,
):
    """Verdict on a learning curve (training and validation loss per epoch).

    Rules, checked in this order on the curve so far:

    1. Overfitting, rising: the validation loss has not improved on its best
       for `patience` epochs and is now above it by more than `min_delta`,
       while the training loss kept falling over the last `patience` epochs
       (by at least `flat_threshold` per epoch, so not flat).
    2. Overfitting, gap: the relative generalization gap
       `(val_loss - loss) / val_loss` exceeds `gap_threshold` (with the
       default 0.5: training loss below half the validation loss).
    3. Underfitting: the training loss is flat, falling by less than
       `flat_threshold` (relative, per epoch, averaged over the last
       `patience` epochs), and high, still above `underfit_threshold` times
       the first epoch's training loss.
    4. Otherwise healthy.

    Rules 1 and 3 need `patience + 1` epochs; rules 1 and 2 need validation
    losses.

    Args:
        losses: List of training losses, one per epoch.
        val_losses: List of validation losses (same length), or `None`.
        patience: Python int >= 1. Defaults to `3`.
        gap_threshold: Python float > 0. Defaults to `0.5`.
        underfit_threshold: Python float > 0. Defaults to `0.5`.
        flat_threshold: Python float >= 0. Defaults to `0.01`.
        min_delta: Python float >= 0. Defaults to `0.0`.

    Returns:
        A JSON-serializable dict: `verdict` (`"overfitting"`,
        `"underfitting"` or `"healthy"`), `reason` (one sentence with the
        numbers), `rule`, `epochs`, `loss`, `val_loss`, `best_val_loss`,
        `best_val_epoch` (1-based), `epochs_since_best_val`, `gap`,
        `loss_change_per_epoch` (relative decrease, positive = falling),
        `loss_vs_first` and the thresholds used.
    """
    losses = [float(v) for v in losses]
    n = len(losses)
    if n == 0:
        raise ValueError("`losses` must not be empty. Received: losses=[]")
    has_val = bool(val_losses) and all(v is not None for v in val_losses)
    val_losses = [float(v) for v in val_losses] if has_val else None
    loss = losses[-1]
    numbers = {
        "epochs": n,
        "loss": loss,
        "val_loss": val_losses[-1] if has_val else None,
        "best_val_loss": None,
        "best_val_epoch": None,
        "epochs_since_best_val": None,
        "gap": None,
        "loss_change_per_epoch": None,
        "loss_vs_first": loss / losses[0] if losses[0] > 0 else None,
        "patience": patience,
        "gap_threshold": gap_threshold,
        "underfit_threshold": underfit_threshold,
        "flat_threshold": flat_threshold,
    }
    if has_val:
        val = val_losses[-1]
        best_index = min(range(n), key=val_losses.__getitem__)
        numbers["best_val_loss"] = val_losses[best_index]
        numbers["best_val_epoch"] = best_index + 1
        numbers["epochs_since_best_val"] = n - 1 - best_index
        if val > 0:
            numbers["gap"] = (val - loss) / val
    past = losses[-1 - patience] if n > patience else None
    if past is not None and past != 0:
        numbers["loss_change_per_epoch"] = (past - loss) / (abs(past) * patience)

    def verdict(name, rule, reason):
        return {"verdict": name, "rule": rule, "reason": reason, **numbers}

    change = numbers["loss_change_per_epoch"]
    if (
        has_val
        and change is not None
        and change >= flat_threshold
        and numbers["epochs_since_best_val"] >= patience
        and val > numbers["best_val_loss"] + min_delta
    ):
        return verdict(
            "overfitting",
            "rising_val_loss",
            f"validation loss rose from its best {_fmt(numbers['best_val_loss'])}"
            f" (epoch {numbers['best_val_epoch']}) to {_fmt(val)} over "
            f"{numbers['epochs_since_best_val']} epochs while training loss "
            f"fell from {_fmt(past)} to {_fmt(loss)}",
        )
    if numbers["gap"] is not None and numbers["gap"] > gap_threshold:
        return verdict(
            "overfitting",
            "gap",
            f"training loss {_fmt(loss)} is {numbers['gap']:.0%} below "
            f"validation loss {_fmt(val)} (threshold {gap_threshold:.0%})",
        )
    ratio = numbers["loss_vs_first"]
    if (
        change is not None
        and change < flat_threshold
        and ratio is not None
        and ratio > underfit_threshold
    ):
        return verdict(
            "underfitting",
            "flat_high_loss",
            f"training loss is flat ({change:+.2%} per epoch over the last "
            f"{patience} epochs, threshold {flat_threshold:.2%}) and still "
            f"{ratio:.0%} of the first epoch's ({_fmt(losses[0])} -> "
            f"{_fmt(loss)}, threshold {underfit_threshold:.0%})",
        )
    parts = [f"training loss {_fmt(loss)}"]
    if change is not None:
        parts.append(f"falling {change:+.2%} per epoch")
    if has_val:
        gap = numbers["gap"]
        parts.append(f"validation loss {_fmt(val)}")
        parts.append(f"gap {'n/a' if gap is None else f'{gap:.0%}'}")
    else:
        parts.append("no validation loss (overfitting not checked)")
    if past is None:
        parts.append(f"trend checks need {patience + 1} epochs")
    return verdict("healthy", "none", ", ".join(parts))


@keras.saving.register_keras_serializable(package="kerasext")
class LearningCurveDiagnosis(keras.callbacks.Callback):
    """Says each epoch whether training is overfitting, underfitting or healthy.

    After each epoch it applies `diagnose` (see its rules) to the training
    loss (`logs[monitor]`) and validation loss (`logs["val_" + monitor]`)
    of all epochs so far, prints one line when `verbose`, and keeps the
    result in `self.verdict`, a JSON-serializable dict with `"verdict"`
    (`"overfitting"`, `"underfitting"` or `"healthy"`), `"reason"` and the
    numbers behind it. `self.verdict` after `fit` is the final verdict;
    `self.history` lists every epoch's losses and verdict.

    State and resume: the history is the callback's own state, exposed by
    `get_state()` / `set_state()`. With `backup_path`, it is written there
    (JSON) after every epoch and read back at `on_train_begin`, so a run
    resumed with `keras.callbacks.BackupAndRestore` in a new process gets
    the same verdicts as an uninterrupted one. Epochs at or after the one
    `fit` starts from are dropped from the history, so a fresh run never
    mixes with an old file.

    Keras alternative: `keras.callbacks.EarlyStopping` stops on a stalled
    validation metric but does not say why; this callback names the failure
    mode and stops nothing (combine both if you want).

    Args:
        patience: Python int >= 1, the window of epochs for the trend rules.
            Defaults to `3`.
        gap_threshold: Python float > 0, relative generalization gap
            `(val_loss - loss) / val_loss` above which the run overfits.
            Defaults to `0.5`.
        underfit_threshold: Python float > 0: a flat training loss above this
            fraction of the first epoch's counts as underfitting.
            Defaults to `0.5`.
        flat_threshold: Python float >= 0, relative decrease per epoch below
            which the training loss is flat. Defaults to `0.01`.
        min_delta: Python float >= 0, how far above its best the validation
            loss must be to count as risen. Defaults to `0.0`.
        monitor: The training loss key in `logs`. Defaults to `"loss"`.
        backup_path: `None` or a JSON file path for the state. Defaults to
            `None`.
        verbose: Print one line per epoch and the final verdict.
            Defaults to `True`.

    Raises:
        ValueError: For a bad argument.

    Example:

    ```python
    diagnosis = LearningCurveDiagnosis(patience=3)
    model.fit(x, y, validation_split=0.2, epochs=30, callbacks=[diagnosis])
    print(diagnosis.verdict["verdict"], diagnosis.verdict["reason"])
    ```
    """

    def __init__(
        self,
        patience=3,
        gap_threshold=0.5,
        underfit_threshold=0.5,
        flat_threshold=0.01,
        min_delta=0.0,
        monitor="loss",
        backup_path=None,
        verbose=True,
    ):
        super().__init__()
        check_int("patience", patience, 1)
        check_positive("gap_threshold", gap_threshold)
        check_positive("underfit_threshold", underfit_threshold)
        check_non_negative("flat_threshold", flat_threshold)
        check_non_negative("min_delta", min_delta)
        self.patience = int(patience)
        self.gap_threshold = gap_threshold
        self.underfit_threshold = underfit_threshold
        self.flat_threshold = flat_threshold
        self.min_delta = min_delta
        self.monitor = monitor
        self.backup_path = None if backup_path is None else str(backup_path)
        self.verbose = verbose
        self.history = []
        self.verdict = None

    # State ------------------------------------------------------------------
    def get_state(self):
        """The history so far, as a JSON-serializable dict."""
        return {"history": [dict(entry) for entry in self.history]}

    def set_state(self, state):
        """Restore what `get_state()` returned."""
        self.history = [dict(entry) for entry in state["history"]]
        self.verdict = self.history[-1]["verdict"] if self.history else None

    # Keras hooks ----------------------------------------------------------
    def on_train_begin(self, logs=None):
        if self.backup_path and os.path.exists(self.backup_path):
            with open(self.backup_path) as f:
                self.set_state(json.load(f))

    def on_epoch_begin(self, epoch, logs=None):
        if self.history and self.history[-1]["epoch"] >= epoch:
            self.set_state(
                {"history": [e for e in self.history if e["epoch"] < epoch]}
            )

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        loss = logs.get(self.monitor)
        if loss is None or not math.isfinite(float(loss)):
            return
        val = logs.get("val_" + self.monitor)
        entry = {
            "epoch": int(epoch),
            "loss": float(loss),
            "val_loss": None if val is None else float(val),
        }
        self.history.append(entry)
        entry["verdict"] = self._diagnose()
        self.verdict = entry["verdict"]
        if self.verbose:
            print(
                f"LearningCurveDiagnosis epoch {epoch + 1}: "
                f"{self.verdict['verdict']} - {self.verdict['reason']}"
            )
        if self.backup_path:
            temporary = self.backup_path + ".tmp"
            with open(temporary, "w") as f:
                json.dump(self.get_state(), f)
            os.replace(temporary, self.backup_path)

    def on_train_end(self, logs=None):
        if self.verbose and self.verdict is not None:
            print(
                f"LearningCurveDiagnosis final verdict: "
                f"{self.verdict['verdict']} - {self.verdict['reason']}"
            )

    def _diagnose(self):
        losses = [e["loss"] for e in self.history]
        vals = [e["val_loss"] for e in self.history]
        return diagnose(
            losses,
            vals if all(v is not None for v in vals) else None,
            patience=self.patience,
            gap_threshold=self.gap_threshold,
            underfit_threshold=self.underfit_threshold,
            flat_threshold=self.flat_threshold,
            min_delta=self.min_delta,
        )

    def get_config(self):
        return {
            "patience": self.patience,
            "gap_threshold": self.gap_threshold,
            "underfit_threshold": self.underfit_threshold,
            "flat_threshold": self.flat_threshold,
            "min_delta": self.min_delta,
            "monitor": self.monitor,
            "backup_path": self.backup_path,
            "verbose": self.verbose,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
