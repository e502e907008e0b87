"""Shared machinery of the callbacks that set LR and momentum every step."""

import keras
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
    true, `_momentum_at(step)`; all return Python floats.

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
        optimizer = self.model.optimizer
        try:
            optimizer.learning_rate = self._lr_at(int(optimizer.iterations))
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
        optimizer.learning_rate = self._lr_at(step)
        if self._momentum is not None:
            self._momentum.assign(self._momentum_at(step))

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
