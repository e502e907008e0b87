"""Cyclical learning rates (Smith, 2015)."""

import keras
from keras import ops

from kerasext._validation import check_choice
from kerasext._validation import check_int
from kerasext._validation import check_non_negative
from kerasext._validation import check_range

CYCLICAL_MODES = ("triangular", "triangular2", "exp_range")


@keras.saving.register_keras_serializable(package="kerasext")
class Cyclical(keras.optimizers.schedules.LearningRateSchedule):
    """Cyclical learning rate: a triangle wave between `base_lr` and `max_lr`.

    With `cycle = floor(1 + step / (2 * step_size))` and
    `x = |step / step_size - 2 * cycle + 1|`, the learning rate is
    `base_lr + (max_lr - base_lr) * max(0, 1 - x) * scale`, where `scale` is
    1 (`"triangular"`), `1 / 2**(cycle - 1)` (`"triangular2"`, the amplitude
    halves every cycle) or `gamma**step` (`"exp_range"`). Step 0 is `base_lr`,
    step `step_size` is the first peak, and step `2 * step_size` is back at
    `base_lr`.

    Keras alternative: none built in (TensorFlow Addons'
    `CyclicalLearningRate` is no longer maintained). This one follows
    Smith's formulas and takes its position from the optimizer's step count.

    Args:
        base_lr: Python float >= 0, the bottom of each cycle.
        max_lr: Python float > base_lr, the top of the first cycle.
        step_size: Python int >= 1, half a cycle, in steps.
        mode: `"triangular"`, `"triangular2"` or `"exp_range"`.
            Defaults to `"triangular"`.
        gamma: Python float in (0, 1], the per-step decay of the amplitude in
            `"exp_range"` mode (ignored otherwise). Defaults to `1.0`.
        name: String, name scope of the ops. Defaults to `"Cyclical"`.

    Returns:
        A callable taking the optimizer step and returning the learning rate
        as a float32 scalar tensor.

    Raises:
        ValueError: If `base_lr < 0`, `max_lr <= base_lr`, `step_size < 1`,
            `mode` is unknown or `gamma` is not in (0, 1].

    References:
        - [Smith, 2015](https://arxiv.org/abs/1506.01186)

    Example:

    >>> schedule = Cyclical(base_lr=0.001, max_lr=0.01, step_size=10)
    >>> [round(float(schedule(s)), 6) for s in (0, 5, 10, 20)]
    [0.001, 0.0055, 0.01, 0.001]
    >>> optimizer = keras.optimizers.SGD(learning_rate=schedule, momentum=0.9)
    """

    def __init__(
        self,
        base_lr,
        max_lr,
        step_size,
        mode="triangular",
        gamma=1.0,
        name="Cyclical",
    ):
        super().__init__()
        check_non_negative("base_lr", base_lr)
        check_non_negative("max_lr", max_lr)
        if max_lr <= base_lr:
            raise ValueError(
                "`max_lr` must be > base_lr. "
                f"Received: max_lr={max_lr!r}, base_lr={base_lr!r}"
            )
        check_int("step_size", step_size, 1)
        check_choice("mode", mode, CYCLICAL_MODES)
        check_range("gamma", gamma, 0, 1, include_low=False)
        self.base_lr = base_lr
        self.max_lr = max_lr
        self.step_size = int(step_size)
        self.mode = mode
        self.gamma = gamma
        self.name = name

    def __call__(self, step):
        with keras.name_scope(self.name):
            step = ops.cast(step, "float32")
            half = float(self.step_size)
            cycle = ops.floor(1.0 + step / (2.0 * half))
            x = ops.abs(step / half - 2.0 * cycle + 1.0)
            amplitude = (self.max_lr - self.base_lr) * ops.maximum(0.0, 1.0 - x)
            if self.mode == "triangular2":
                amplitude = amplitude / ops.power(2.0, cycle - 1.0)
            elif self.mode == "exp_range":
                amplitude = amplitude * ops.power(float(self.gamma), step)
            return self.base_lr + amplitude

    def get_config(self):
        return {
            "base_lr": self.base_lr,
            "max_lr": self.max_lr,
            "step_size": self.step_size,
            "mode": self.mode,
            "gamma": self.gamma,
            "name": self.name,
        }
