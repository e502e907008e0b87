"""Warmup + cosine annealing (with optional restarts) as a callback."""

import keras
from keras import ops

from kerasext._validation import check_int
from kerasext._validation import check_non_negative
from kerasext._validation import check_positive
from kerasext.callbacks._scheduled import ScheduledHyperparameters
from kerasext.schedules import one_cycle as one_cycle_lib
from kerasext.schedules.warmup_cosine import WarmupCosine


@keras.saving.register_keras_serializable(package="kerasext")
class CosineAnnealing(ScheduledHyperparameters):
    """`WarmupCosine` learning rate (optionally momentum), set inside the train step.

    The learning rate is exactly `kerasext.schedules.WarmupCosine` with
    `total_steps = epochs * steps_per_epoch` and
    `warmup_steps = round(warmup * steps_per_epoch)`: linear warmup from 0,
    cosine annealing to `min_lr` at the last step, and `restarts` warm
    restarts (SGDR) whose lengths grow by `t_mul` and peaks shrink by
    `m_mul`. It is for users who keep a plain float learning rate in their
    optimizer: for the `fit`, the callback gives the optimizer the schedule
    (of `optimizer.iterations`, evaluated inside the compiled step) and then
    puts the float back at its last value. The schedule inside the optimizer
    does the same with no callback.

    With `moms=(high, low)`, momentum (`beta_1` or `momentum`, as in
    `kerasext.callbacks.OneCycle`) moves inversely to the learning rate:
    `high` when the learning rate is `min_lr`, `low` when it is `max_lr`,
    linear in between, computed from the step inside the compiled step too.
    An optimizer with no momentum gets a warning and only the learning rate
    is scheduled; `on_train_end` restores the original momentum float.

    The position is `optimizer.iterations`, so a resumed run continues
    exactly and `get_state()` is empty. `logs["learning_rate"]` and
    `logs["momentum"]` hold each epoch's last values.

    Keras alternative: `keras.optimizers.schedules.CosineDecay` (warmup, no
    restarts) or `CosineDecayRestarts` (restarts, no warmup) inside the
    optimizer; neither is fitted to the run's length nor moves momentum.

    Args:
        max_lr: Python float > 0 (finite), the learning rate after warmup.
        epochs: Python int >= 1 or `None` (read from `fit`). Defaults to
            `None`.
        steps_per_epoch: Python int >= 1 or `None` (read from `fit`).
            Defaults to `None`.
        warmup: Python float >= 0, warmup length in epochs (fractions
            allowed); must be shorter than the run. Defaults to `0.0`.
        min_lr: Python float in [0, max_lr). Defaults to `0.0`.
        restarts: `None` or Python int >= 0, the number of warm restarts.
            Defaults to `None`.
        t_mul: Python float > 0, cycle length multiplier. Defaults to `2.0`.
        m_mul: Python float > 0, cycle peak multiplier. Defaults to `1.0`.
        moms: `None`, or two floats in [0, 1], `(high, low)`. Defaults to
            `None` (momentum untouched).

    Raises:
        ValueError: For a bad argument, including a warmup at least as long
            as the run (checked at construction when `epochs` is given, else
            at `on_train_begin`).

    References:
        - [Loshchilov & Hutter, 2016](https://arxiv.org/abs/1608.03983)
        - [Smith, 2018](https://arxiv.org/abs/1803.09820) (inverse momentum)

    Example:

    ```python
    model.compile(keras.optimizers.AdamW(), "mse")
    callback = CosineAnnealing(max_lr=1e-3, warmup=1, moms=(0.95, 0.85))
    model.fit(x, y, epochs=10, callbacks=[callback])
    ```
    """

    def __init__(
        self,
        max_lr,
        epochs=None,
        steps_per_epoch=None,
        warmup=0.0,
        min_lr=0.0,
        restarts=None,
        t_mul=2.0,
        m_mul=1.0,
        moms=None,
    ):
        super().__init__(epochs=epochs, steps_per_epoch=steps_per_epoch)
        check_positive("max_lr", max_lr)
        check_non_negative("warmup", warmup)
        if epochs is not None and warmup >= epochs:
            raise ValueError(
                "`warmup` must be shorter than the run (in epochs). "
                f"Received: warmup={warmup!r}, epochs={epochs!r}"
            )
        check_non_negative("min_lr", min_lr)
        if min_lr >= max_lr:
            raise ValueError(
                "`min_lr` must be < max_lr. "
                f"Received: min_lr={min_lr!r}, max_lr={max_lr!r}"
            )
        if restarts is not None:
            check_int("restarts", restarts, 0)
        check_positive("t_mul", t_mul)
        check_positive("m_mul", m_mul)
        if moms is not None:
            moms = one_cycle_lib.check_moms(moms, 2)
        self.max_lr = max_lr
        self.warmup = warmup
        self.min_lr = min_lr
        self.restarts = restarts
        self.t_mul = t_mul
        self.m_mul = m_mul
        self.moms = moms
        self.schedule = None

    def _build(self, epochs, steps_per_epoch):
        if self.warmup >= epochs:
            raise ValueError(
                "`warmup` must be shorter than the run (in epochs). "
                f"Received: warmup={self.warmup!r}, epochs={epochs!r}"
            )
        total_steps = epochs * steps_per_epoch
        warmup_steps = min(round(self.warmup * steps_per_epoch), total_steps - 1)
        self.schedule = WarmupCosine(
            self.max_lr,
            total_steps,
            warmup_steps=warmup_steps,
            min_lr=self.min_lr,
            restarts=self.restarts,
            t_mul=self.t_mul,
            m_mul=self.m_mul,
        )

    def _momentum_curve(self, step):
        """Momentum falls as the learning rate rises: `high` at `min_lr`, `low` at `max_lr`."""
        high, low = self.moms
        fraction = (self.schedule(step) - self.min_lr) / (self.max_lr - self.min_lr)
        return high - (high - low) * ops.clip(fraction, 0.0, 1.0)

    def get_config(self):
        return {
            "max_lr": self.max_lr,
            "epochs": self.epochs,
            "steps_per_epoch": self.steps_per_epoch,
            "warmup": self.warmup,
            "min_lr": self.min_lr,
            "restarts": self.restarts,
            "t_mul": self.t_mul,
            "m_mul": self.m_mul,
            "moms": None if self.moms is None else list(self.moms),
        }
