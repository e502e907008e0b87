"""Learning rate range test: `LRFinder` callback and `find_lr`."""

import dataclasses
import math
import warnings

import keras
import numpy as np

from kerasext._validation import check_greater
from kerasext._validation import check_int
from kerasext._validation import check_positive
from kerasext._validation import check_range


def suggest_valley(lrs, losses):
    """fastai's "valley": a point 1/3 to 1/2 down the longest descending run.

    Finds the longest (not necessarily contiguous) decreasing subsequence of
    the losses and returns the learning rate at `start + int(L/3) + int(L/6)`
    of it, where `L` is its length in steps.
    """
    n = len(losses)
    if n == 0:
        return None
    max_start, max_end = 0, 0
    lds = [1] * n
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    index = max_start + int(sections) + int(sections / 2)
    return float(lrs[index])


def suggest_steep(lrs, losses):
    """fastai's "steep": where the loss falls fastest per unit of log(lr)."""
    if len(losses) < 2:
        return None
    lrs, losses = np.asarray(lrs, float), np.asarray(losses, float)
    slopes = np.diff(losses) / np.diff(np.log(lrs))
    return float(lrs[int(np.argmin(slopes))])


def suggest_minimum(lrs, losses):
    """fastai's "minimum": a tenth of the learning rate at the lowest loss."""
    if len(losses) == 0:
        return None
    return float(lrs[int(np.argmin(losses))]) / 10.0


def _trim(lrs, losses, steps):
    """The part of the curve the suggestions use.

    As fastai's `lr_find`, cuts at the first non-finite loss and drops the
    first `steps // 10` points (the smoothed loss is still settling). Unlike
    fastai, which drops the last 5 points, it then ends the curve at its
    lowest smoothed loss: past it lies the blow-up, and a loss that explodes
    and then settles (a saturated softmax) would otherwise give a "steepest
    descent" at a learning rate that destroyed the model. Curves too short for
    this are used whole.
    """
    lrs, losses = list(lrs), list(losses)
    finite = [math.isfinite(v) for v in losses]
    if not all(finite):
        cut = finite.index(False)
        lrs, losses = lrs[:cut], losses[:cut]
    start = steps // 10
    if len(losses) - start >= 3:
        lrs, losses = lrs[start:], losses[start:]
    end = int(np.argmin(losses)) + 1 if losses else 0
    if end >= 3:
        lrs, losses = lrs[:end], losses[:end]
    return lrs, losses


@dataclasses.dataclass
class LRFinderResult:
    """The curve of a learning rate range test and the suggested rates.

    Attributes:
        lrs: Learning rate of each step.
        losses: Exponentially smoothed (bias-corrected) training loss after
            each step; the curve that is plotted and used for suggestions.
        raw_losses: The training loss of each step's batch.
        suggestions: `{"valley": ..., "steep": ..., "minimum": ...}`, floats
            (or `None` when the curve is too short), as fastai's
            `SuggestionMethod`, computed on the smoothed curve without its
            first 10% and cut at its lowest point (fastai instead drops the
            last 5 points; see `_trim`).
        diverged: `True` if the test stopped because the smoothed loss went
            above `diverge_threshold` times its best (or was not finite).
        steps_requested: The `steps` asked for; `len(lrs)` is what ran.
        plot_path: Where the plot was written, if it was.
    """

    lrs: list
    losses: list
    raw_losses: list
    suggestions: dict
    diverged: bool
    steps_requested: int
    plot_path: str = None

    @property
    def valley(self):
        return self.suggestions.get("valley")

    @property
    def steep(self):
        return self.suggestions.get("steep")

    @property
    def minimum(self):
        return self.suggestions.get("minimum")

    def to_dict(self):
        """A JSON-serializable dict of all fields."""
        return dataclasses.asdict(self)

    def plot(self, path):
        """Write the smoothed loss against the learning rate (log x) as PNG.

        Uses Matplotlib's Agg canvas directly (no `pyplot` state).

        Args:
            path: File path of the PNG.

        Returns:
            `path`.
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        figure = Figure(figsize=(6, 4))
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        axes.plot(self.lrs, self.losses, label="smoothed loss")
        axes.set_xscale("log")
        axes.set_xlabel("learning rate")
        axes.set_ylabel("training loss")
        markers = {"valley": "o", "steep": "s", "minimum": "^"}
        for name, lr in self.suggestions.items():
            if lr is None:
                continue
            loss = float(np.interp(np.log(lr), np.log(self.lrs), self.losses))
            axes.plot([lr], [loss], markers[name], label=f"{name}: {lr:.2e}")
        finite = [v for v in self.losses if math.isfinite(v)]
        if finite:  # Keep the blow-up from flattening the useful part.
            low, first = min(finite), finite[0]
            axes.set_ylim(low - 0.1 * abs(first - low), max(first, low) * 1.5 + 1e-12)
        stop = "diverged" if self.diverged else f"{len(self.lrs)} steps"
        axes.set_title(f"LR range test ({stop})")
        axes.legend(loc="best")
        figure.tight_layout()
        figure.savefig(path, dpi=100)
        self.plot_path = str(path)
        return path


@keras.saving.register_keras_serializable(package="kerasext")
class LRFinder(keras.callbacks.Callback):
    """Learning rate range test: raise the LR exponentially, watch the loss.

    Step `i` (of `steps`) uses the learning rate
    `start_lr * (end_lr / start_lr) ** (i / (steps - 1))`, so the last step
    uses `end_lr`. After each step it records the batch loss and its
    exponentially smoothed, bias-corrected average (fastai's
    `AvgSmoothLoss`, weight `smoothing`), and stops training when the
    smoothed loss exceeds `diverge_threshold` times the best so far or is
    not finite, or after `steps` steps. At `on_train_end` it puts back the
    model's variables (weights, non-trainable state, seeds) and the
    optimizer's variables (including `iterations` and the learning rate)
    as they were at `on_train_begin`, and stores an `LRFinderResult` in
    `self.result`. If the data ran out before `steps` (and the loss did not
    diverge), it warns with both numbers.

    Keras 3 reports a running mean over the epoch in batch-level `logs`;
    this callback calls `model.reset_metrics()` before each batch so that
    `logs["loss"]` is that batch's loss. Use `find_lr` rather than this
    callback unless you need your own `fit` call: when `fit` raises, Keras
    skips `on_train_end`, so this callback restores nothing, whereas
    `find_lr` restores in that case too.

    Keras alternative: none built in (fastai's `Learner.lr_find` is the
    model for this one).

    Args:
        start_lr: Python float > 0, the first learning rate.
            Defaults to `1e-7`.
        end_lr: Python float > start_lr, the last. Defaults to `10.0`.
        steps: Python int >= 2, the number of steps. Defaults to `100`.
        smoothing: Python float in [0, 1), the weight of the past in the
            smoothed loss. Defaults to `0.98`.
        diverge_threshold: Python float > 1. Defaults to `4.0`.
        restore: Whether to restore model and optimizer state at the end.
            Defaults to `True`.

    Raises:
        ValueError: For a bad argument (`end_lr <= start_lr` included), or at
            `on_train_begin` if the optimizer's learning rate is a schedule.

    References:
        - [Smith, 2015](https://arxiv.org/abs/1506.01186), section 3.3.

    Example:

    ```python
    finder = LRFinder(steps=50)
    model.fit(dataset.repeat(), epochs=1, callbacks=[finder])
    print(finder.result.suggestions)
    ```
    """

    def __init__(
        self,
        start_lr=1e-7,
        end_lr=10.0,
        steps=100,
        smoothing=0.98,
        diverge_threshold=4.0,
        restore=True,
    ):
        super().__init__()
        check_positive("start_lr", start_lr)
        check_positive("end_lr", end_lr)
        if end_lr <= start_lr:
            raise ValueError(
                "`end_lr` must be > start_lr. "
                f"Received: end_lr={end_lr!r}, start_lr={start_lr!r}"
            )
        check_int("steps", steps, 2)
        check_range("smoothing", smoothing, 0, 1, include_high=False)
        check_greater("diverge_threshold", diverge_threshold, 1)
        self.start_lr = start_lr
        self.end_lr = end_lr
        self.steps = int(steps)
        self.smoothing = smoothing
        self.diverge_threshold = diverge_threshold
        self.restore = restore
        self.result = None
        self._saved_model = self._saved_optimizer = None

    def lr_at(self, step):
        """Learning rate of step `step` (0-based)."""
        ratio = self.end_lr / self.start_lr
        return self.start_lr * ratio ** (step / (self.steps - 1))

    def on_train_begin(self, logs=None):
        model, optimizer = self.model, self.model.optimizer
        self._saved_model = [v.numpy() for v in model.variables]
        self._saved_optimizer = [v.numpy() for v in optimizer.variables]
        try:
            optimizer.learning_rate = self.lr_at(0)
        except TypeError as error:
            raise ValueError(
                "LRFinder sets the learning rate itself, so the optimizer needs"
                " a float `learning_rate`, not a schedule. Received: "
                f"{type(optimizer).__name__} with a LearningRateSchedule"
            ) from error
        self._step = 0
        self._average = 0.0
        self._best = math.inf
        self._diverged = False
        self._lrs, self._losses, self._raw = [], [], []

    def on_train_batch_begin(self, batch, logs=None):
        self.model.optimizer.learning_rate = self.lr_at(self._step)
        self.model.reset_metrics()

    def on_train_batch_end(self, batch, logs=None):
        loss = float(logs["loss"])
        self._average = self.smoothing * self._average + (1 - self.smoothing) * loss
        smoothed = self._average / (1 - self.smoothing ** (self._step + 1))
        self._lrs.append(self.lr_at(self._step))
        self._raw.append(loss)
        self._losses.append(smoothed)
        self._step += 1
        self._best = min(self._best, smoothed)
        if not math.isfinite(smoothed) or smoothed > self.diverge_threshold * self._best:
            self._diverged = True
            self.model.stop_training = True
        elif self._step >= self.steps:
            self.model.stop_training = True

    def _restore_state(self):
        """Puts back the variables saved at `on_train_begin`, once.

        The optimizer's variables include `iterations` and the float
        learning rate. Does nothing if nothing was saved (training failed
        before `on_train_begin`) or it already ran.
        """
        if self._saved_model is None:
            return
        for variable, value in zip(self.model.variables, self._saved_model):
            variable.assign(value)
        optimizer_variables = self.model.optimizer.variables
        for variable, value in zip(optimizer_variables, self._saved_optimizer):
            variable.assign(value)
        self._saved_model = self._saved_optimizer = None

    def on_train_end(self, logs=None):
        if self.restore:
            self._restore_state()
        if not self._diverged and self._step < self.steps:
            warnings.warn(
                f"LRFinder: the data gave only {self._step} batches but "
                f"steps={self.steps}; the test stopped at "
                f"lr={self.lr_at(max(self._step - 1, 0)):.3g}, short of "
                f"end_lr={self.end_lr!r}. Pass more data (e.g. "
                "`dataset.repeat()`) or fewer steps.",
                stacklevel=2,
            )
        lrs, losses = _trim(self._lrs, self._losses, self.steps)
        self.result = LRFinderResult(
            lrs=list(self._lrs),
            losses=list(self._losses),
            raw_losses=list(self._raw),
            suggestions={
                "valley": suggest_valley(lrs, losses),
                "steep": suggest_steep(lrs, losses),
                "minimum": suggest_minimum(lrs, losses),
            },
            diverged=self._diverged,
            steps_requested=self.steps,
        )

    def get_config(self):
        return {
            "start_lr": self.start_lr,
            "end_lr": self.end_lr,
            "steps": self.steps,
            "smoothing": self.smoothing,
            "diverge_threshold": self.diverge_threshold,
            "restore": self.restore,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def find_lr(
    model,
    data,
    start_lr=1e-7,
    end_lr=10.0,
    steps=100,
    batch_size=None,
    smoothing=0.98,
    diverge_threshold=4.0,
    plot_path=None,
    verbose=0,
):
    """Run a learning rate range test on a compiled model and undo it.

    Trains `model` for up to `steps` batches of one pass over `data` with
    `LRFinder`, then restores the model's variables and the optimizer's
    variables (including `iterations` and the learning rate) to what they
    were, also when `fit` raises (the error then propagates). The optimizer
    must have a float learning rate. If `data` has fewer than `steps`
    batches the test stops when it runs out, with a warning naming both
    numbers; `dataset.repeat()` avoids that.

    Keras alternative: none built in; this is fastai's `Learner.lr_find`
    for Keras, with the same suggestions (valley, steep, minimum / 10).

    Args:
        model: A compiled `keras.Model` (float learning rate).
        data: A batched `tf.data.Dataset`, `keras.utils.PyDataset` or
            generator yielding `(x, y)`, or a tuple `(x, y)` or
            `(x, y, sample_weight)` of arrays.
        start_lr: Python float > 0. Defaults to `1e-7`.
        end_lr: Python float > start_lr. Defaults to `10.0`.
        steps: Python int >= 2. Defaults to `100`.
        batch_size: Batch size when `data` is a tuple of arrays. Defaults to
            `None` (Keras's 32).
        smoothing: Python float in [0, 1). Defaults to `0.98`.
        diverge_threshold: Python float > 1. Defaults to `4.0`.
        plot_path: Where to write the PNG plot, or `None` for no plot.
            Defaults to `None`.
        verbose: `fit` verbosity. Defaults to `0`.

    Returns:
        An `LRFinderResult` (curve, `suggestions`, `diverged`).

    Raises:
        ValueError: For a bad argument, e.g. `end_lr <= start_lr`, or an
            optimizer whose learning rate is a schedule.

    References:
        - [Smith, 2015](https://arxiv.org/abs/1506.01186), section 3.3.

    Example:

    ```python
    result = find_lr(model, train_ds.repeat(), steps=100, plot_path="lr.png")
    model.optimizer.learning_rate = result.valley
    ```
    """
    finder = LRFinder(
        start_lr=start_lr,
        end_lr=end_lr,
        steps=steps,
        smoothing=smoothing,
        diverge_threshold=diverge_threshold,
    )
    try:
        if isinstance(data, tuple):
            model.fit(
                x=data[0],
                y=data[1] if len(data) > 1 else None,
                sample_weight=data[2] if len(data) > 2 else None,
                batch_size=batch_size,
                epochs=1,
                callbacks=[finder],
                verbose=verbose,
            )
        else:
            model.fit(
                data, epochs=1, shuffle=False, callbacks=[finder], verbose=verbose
            )
    finally:
        # `fit` skips `on_train_end` when the data (or anything else) raises
        # mid-test: undo the test here too, then let the error propagate.
        finder._restore_state()
    if plot_path is not None:
        finder.result.plot(plot_path)
    return finder.result
