"""Shared machinery of the callbacks that schedule learning rate and momentum."""

import keras
from keras import ops

from kerasext._validation import check_int
from kerasext.callbacks._in_step import InStepSchedule
from kerasext.callbacks._momentum import momentum_value


class ScheduledHyperparameters(keras.callbacks.Callback):
    """Base class: learning rate and momentum as functions of the optimizer step.

    At `on_train_begin` the optimizer gets the learning rate as a
    `LearningRateSchedule` and, if the subclass schedules it, the momentum
    as a curve, both of `optimizer.iterations` and both evaluated inside the
    compiled train step (see `_in_step.py`). There is no per-batch hook, so
    Keras keeps dispatching steps ahead, and no counter in the callback, so
    the position is exact after a restore (`BackupAndRestore`, or a reloaded
    model whose optimizer kept its `iterations`). At the end of each epoch,
    `logs["learning_rate"]` and `logs["momentum"]` get the values of the
    epoch's last step (place this callback before `CSVLogger` so that it
    sees them), and the optimizer's learning-rate variable is set to that
    learning rate. `on_train_end` puts the optimizer's float learning rate
    (at its last value) and momentum back.

    Subclasses implement `_build(epochs, steps_per_epoch)` (called in
    `on_train_begin`), which sets `self.schedule`, and, when `self.moms` is
    not `None`, `_momentum_curve(step)`; both written with `keras.ops`.

    Args:
        epochs: Python int >= 1 or `None`: epochs in the run; `None` reads
            `fit`'s `epochs` (`self.params["epochs"]`).
        steps_per_epoch: Python int >= 1 or `None`: `None` reads `fit`'s
            number of steps per epoch (`self.params["steps"]`).
    """

    def __init__(self, epochs=None, steps_per_epoch=None):
        super().__init__()
        check_int("epochs", epochs, 1, allow_none=True)
        check_int("steps_per_epoch", steps_per_epoch, 1, allow_none=True)
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self.schedule = None
        self.total_steps = None
        self._in_step = None

    # Subclass hooks -----------------------------------------------------
    def _build(self, epochs, steps_per_epoch):
        raise NotImplementedError

    def _momentum_curve(self, step):
        raise NotImplementedError

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
        curve = None if getattr(self, "moms", None) is None else self._momentum_curve
        self._in_step = InStepSchedule.attach(
            self.model, self.schedule, curve, type(self).__name__
        )

    def _last_step(self):
        return max(int(self.model.optimizer.iterations) - 1, 0)

    def on_epoch_end(self, epoch, logs=None):
        step = self._last_step()
        learning_rate = ops.convert_to_numpy(self.schedule(step))
        if self._in_step is not None:
            self._in_step.sync(learning_rate)
        if logs is None:
            return
        logs["learning_rate"] = float(learning_rate)
        if self._in_step is not None and self._in_step.attribute is not None:
            logs["momentum"] = float(ops.convert_to_numpy(self._momentum_curve(step)))
        else:
            momentum = momentum_value(self.model.optimizer)
            if momentum is not None:
                logs["momentum"] = momentum

    def on_train_end(self, logs=None):
        if self._in_step is not None:
            self._in_step.detach(self._last_step())
            self._in_step = None

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
