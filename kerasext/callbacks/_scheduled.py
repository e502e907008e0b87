"""Shared machinery of the callbacks that set LR and momentum every step."""

import keras
import numpy as np
from keras import ops

from kerasext.callbacks._momentum import attach_momentum
from kerasext.callbacks._momentum import momentum_value
from kerasext.schedules._checks import check_int


class ScheduledHyperparameters(keras.callbacks.Callback):
    """Base class: sets learning rate and momentum from the optimizer step.

    Before every batch the learning rate (and, if the subclass schedules it,
    the momentum) is set to the value for `int(optimizer.iterations)`. No
    counter is kept in the callback, so the position is exact after a restore
    (`BackupAndRestore`, or a reloaded model whose optimizer kept its
    `iterations`). At the end of each epoch, `logs["learning_rate"]` and
    `logs["momentum"]` get the values of the epoch's last step (place this
    callback before `CSVLogger` so that it sees them).

    Subclasses implement `_build(epochs, steps_per_epoch)` (called in
    `on_train_begin`), `_lr_at(step)`, and, if `_schedules_momentum()` is
    true, `_momentum_at(step)`; all return Python floats. For speed, the
    values of every step of the run are computed once per `fit`, vectorized
    (`_lr_table`, `_momentum_table`), and looked up before each batch: a
    per-step call of the `keras.ops` schedule cost ~2.7 ms a step eagerly
    (7% of an epoch in `benchmarks/callbacks_overhead.py`). Steps past the
    table (more steps than planned) are computed one by one.

    Args:
        epochs: Python int >= 1 or `None`: epochs in the run; `None` reads
            `fit`'s `epochs` (`self.params["epochs"]`).
        steps_per_epoch: Python int >= 1 or `None`: `None` reads `fit`'s
            number of steps per epoch (`self.params["steps"]`).
    """

    def __init__(self, epochs=None, steps_per_epoch=None):
        super().__init__()
        if epochs is not None:
            check_int("epochs", epochs, 1)
        if steps_per_epoch is not None:
            check_int("steps_per_epoch", steps_per_epoch, 1)
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self._momentum = None
        self.total_steps = None

    # Subclass hooks -----------------------------------------------------
    def _build(self, epochs, steps_per_epoch):
        raise NotImplementedError

    def _lr_at(self, step):
        """The learning rate of `self.schedule` (set by `_build`) at `step`."""
        return float(ops.convert_to_numpy(self.schedule(step)))

    def _momentum_at(self, step):
        return None

    def _lr_table(self, steps):
        """Learning rates at int32 `steps` (a 1-D array) as a NumPy array, or `None` when
        the schedule does not take a vector of steps (e.g. `WarmupCosine` with restarts)."""
        return _vectorized(self.schedule, self._lr_at, steps)

    def _momentum_table(self, steps):
        """Momentum at `steps` as a NumPy array, or `None` (then computed step by step)."""
        return None

    def _schedules_momentum(self):
        return getattr(self, "moms", None) is not None

    # Keras hooks --------------------------------------------------------
    def _resolve_steps(self):
        epochs = self.epochs or self.params.get("epochs")
        steps = self.steps_per_epoch or self.params.get("steps")
        name = type(self).__name__
        if not steps:
            raise ValueError(
                f"{name} needs the number of steps per epoch, and `fit` does "
                "not know it (a dataset of unknown length). Pass "
                f"`steps_per_epoch`. Received: steps_per_epoch={steps!r}"
            )
        if not epochs:
            raise ValueError(
                f"{name} needs `epochs`. Received: epochs={epochs!r}"
            )
        return int(epochs), int(steps)

    def on_train_begin(self, logs=None):
        epochs, steps = self._resolve_steps()
        self.total_steps = epochs * steps
        self._build(epochs, steps)
        table_steps = np.arange(self.total_steps + 1, dtype="int32")
        self._lr_values = self._lr_table(table_steps)
        self._momentum_values = None
        if self._schedules_momentum():
            self._momentum_values = self._momentum_table(table_steps)
        optimizer = self.model.optimizer
        try:
            optimizer.learning_rate = self._lr_value(int(optimizer.iterations))
        except TypeError as error:
            raise ValueError(
                f"{type(self).__name__} sets the learning rate itself, so the "
                "optimizer needs a float `learning_rate`, not a schedule "
                "(or use the matching schedule in `kerasext.schedules`). "
                f"Received: {type(optimizer).__name__} with a "
                "LearningRateSchedule"
            ) from error
        if self._schedules_momentum():
            self._momentum = attach_momentum(self.model, type(self).__name__)

    def on_train_batch_begin(self, batch, logs=None):
        optimizer = self.model.optimizer
        step = int(optimizer.iterations)
        optimizer.learning_rate = self._lr_value(step)
        if self._momentum is not None:
            self._momentum.assign(self._momentum_value(step))

    def _lr_value(self, step):
        if self._lr_values is not None and 0 <= step < len(self._lr_values):
            return float(self._lr_values[step])
        return self._lr_at(step)

    def _momentum_value(self, step):
        if self._momentum_values is not None and 0 <= step < len(self._momentum_values):
            return float(self._momentum_values[step])
        return self._momentum_at(step)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        optimizer = self.model.optimizer
        logs["learning_rate"] = float(optimizer.learning_rate)
        momentum = momentum_value(optimizer)
        if momentum is not None:
            logs["momentum"] = momentum

    def on_train_end(self, logs=None):
        if self._momentum is not None:
            self._momentum.detach(self.model)
            self._momentum = None

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_state(self):
        """This callback keeps no state: its position is `optimizer.iterations`.

        Returns:
            An empty dict (for symmetry with callbacks that keep state).
        """
        return {}

    def set_state(self, state):
        """No-op: the position comes from the optimizer after a restore."""
        del state


def _vectorized(curve, at, steps):
    """`curve(steps)` as float64 NumPy, checked against `at(step)` at a few steps; `None`
    when the curve fails on a vector or disagrees with its step-by-step values."""
    try:
        values = np.asarray(ops.convert_to_numpy(curve(ops.convert_to_tensor(steps))), "float64")
    except Exception:  # noqa: BLE001 - any backend's error: fall back to step by step
        return None
    if values.shape != steps.shape:
        return None
    for i in sorted({0, len(steps) // 3, len(steps) // 2, len(steps) - 1}):
        if not np.isclose(values[i], at(int(steps[i])), rtol=1e-6, atol=1e-12):
            return None
    return values
