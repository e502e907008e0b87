"""One-cycle training as a callback: learning rate up then down, momentum inverse."""

import keras

from kerasext._validation import check_choice
from kerasext._validation import check_greater
from kerasext._validation import check_open_unit
from kerasext._validation import check_positive
from kerasext.callbacks._scheduled import ScheduledHyperparameters
from kerasext.schedules import one_cycle as one_cycle_lib


# Registered as "kerasext>OneCycleCallback": "kerasext>OneCycle" is the schedule.
@keras.saving.register_keras_serializable(package="kerasext", name="OneCycleCallback")
class OneCycle(ScheduledHyperparameters):
    """One-cycle learning rate and inverse momentum, set inside the train step.

    The learning rate follows `kerasext.schedules.OneCycle` (`max_lr / div`
    at the first step, `max_lr` at step `pct_start * (total_steps - 1)`,
    `max_lr / div_final` at the last step), and the momentum follows
    `kerasext.schedules.one_cycle_momentum` (`moms[0]`, then `moms[1]` where
    the learning rate peaks, then `moms[2]`). The momentum is SGD's and
    RMSprop's `momentum`, or `beta_1` for Adam, AdamW, Nadam, Adamax, Lion
    and others. An optimizer with neither (or SGD with `momentum=0`, which
    has no momentum buffers) gets a warning, once per `fit`, and only its
    learning rate is scheduled.

    At `on_train_begin` the optimizer gets the learning rate as a
    `kerasext.schedules.OneCycle` of `optimizer.iterations` and the momentum
    as a `keras.ops` curve of the same step, both computed inside the
    compiled train step (no per-batch Python, exact with any
    `steps_per_execution`; see `kerasext/callbacks/_in_step.py`). The train
    function is rebuilt once per `fit`. `on_train_end` puts the original
    momentum float back and leaves the float learning rate at its last value.

    The position is `optimizer.iterations`, not a counter in the callback,
    so training resumed with `keras.callbacks.BackupAndRestore` (or from a
    saved model) continues the cycle exactly; `get_state()` is empty. Total
    steps are `epochs * steps_per_epoch`, read from `fit` when not given.
    `logs["learning_rate"]` and `logs["momentum"]` hold each epoch's last
    values (list this callback before `CSVLogger`).

    Keras alternative: none. `keras.callbacks.LearningRateScheduler` changes
    the learning rate once per epoch and never the momentum. To schedule only
    the learning rate, `kerasext.schedules.OneCycle` inside the optimizer is
    simpler.

    Args:
        max_lr: Python float > 0 (finite), the peak learning rate.
        epochs: Python int >= 1 or `None` (read from `fit`). Defaults to
            `None`.
        steps_per_epoch: Python int >= 1 or `None` (read from `fit`).
            Defaults to `None`.
        moms: Three floats in [0, 1], `(start, low, end)`, or `None` to leave
            the momentum alone. Defaults to `(0.95, 0.85, 0.95)`.
        pct_start: Python float in (0, 1). Defaults to `0.25`.
        div: Python float > 1. Defaults to `25.0`.
        div_final: Python float > 0. Defaults to `1e4`.
        anneal: `"cos"` or `"linear"`. Defaults to `"cos"`.

    Raises:
        ValueError: At construction, for a bad argument (as the schedule),
            and at `on_train_begin` if the steps per epoch are unknown or the
            optimizer's learning rate is a schedule rather than a float.

    References:
        - [Smith & Topin, 2017](https://arxiv.org/abs/1708.07120)
        - [Smith, 2018](https://arxiv.org/abs/1803.09820)

    Example:

    ```python
    model.compile(keras.optimizers.SGD(momentum=0.9), "mse")
    model.fit(x, y, epochs=5, callbacks=[OneCycle(max_lr=0.1)])
    ```
    """

    def __init__(
        self,
        max_lr,
        epochs=None,
        steps_per_epoch=None,
        moms=(0.95, 0.85, 0.95),
        pct_start=0.25,
        div=25.0,
        div_final=1e4,
        anneal="cos",
    ):
        super().__init__(epochs=epochs, steps_per_epoch=steps_per_epoch)
        check_positive("max_lr", max_lr)
        if moms is not None:
            moms = one_cycle_lib.check_moms(moms, 3)
        check_open_unit("pct_start", pct_start)
        check_greater("div", div, 1)
        check_positive("div_final", div_final)
        check_choice("anneal", anneal, one_cycle_lib.ANNEAL_MODES)
        self.max_lr = max_lr
        self.moms = moms
        self.pct_start = pct_start
        self.div = div
        self.div_final = div_final
        self.anneal = anneal
        self.schedule = None

    def _build(self, epochs, steps_per_epoch):
        self.schedule = one_cycle_lib.OneCycle(
            self.max_lr,
            epochs * steps_per_epoch,
            pct_start=self.pct_start,
            div=self.div,
            div_final=self.div_final,
            anneal=self.anneal,
        )

    def _momentum_curve(self, step):
        return one_cycle_lib.one_cycle_curve(
            step,
            self.schedule.total_steps,
            self.pct_start,
            *self.moms,
            anneal=self.anneal,
        )

    def get_config(self):
        return {
            "max_lr": self.max_lr,
            "epochs": self.epochs,
            "steps_per_epoch": self.steps_per_epoch,
            "moms": None if self.moms is None else list(self.moms),
            "pct_start": self.pct_start,
            "div": self.div,
            "div_final": self.div_final,
            "anneal": self.anneal,
        }
