"""Linear warmup in front of any learning rate schedule."""

import math
import numbers

import keras
from keras import ops

from kerasext._validation import check_int


@keras.saving.register_keras_serializable(package="kerasext")
class Warmup(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup in front of any schedule.

    Step `s < warmup_steps` uses `schedule(warmup_steps) * s / warmup_steps`,
    a straight line from 0 at step 0 to the value the wrapped schedule has at
    step `warmup_steps`; from step `warmup_steps` on, it is `schedule(s)`.
    The wrapped schedule keeps its own clock (the optimizer's step count): the
    warmup replaces its first steps rather than delaying it.

    Keras alternative: only `keras.optimizers.schedules.CosineDecay` has a
    warmup (`warmup_target`, `warmup_steps`); this wrapper adds one to any
    schedule, including Keras's own and the other `kerasext` schedules, and
    saves the wrapped schedule with `keras.saving.serialize_keras_object`.

    Args:
        schedule: A `keras.optimizers.schedules.LearningRateSchedule`, or a
            Python float for a constant learning rate after the warmup. A
            serialized schedule (a dict, as in `get_config()`) is also
            accepted.
        warmup_steps: Python int >= 0, the number of warmup steps.

    Returns:
        A callable taking the optimizer step and returning the learning rate
        as a float32 scalar tensor.

    Raises:
        ValueError: If `schedule` is neither a schedule nor a number > 0, or
            `warmup_steps < 0`.

    References:
        - [Goyal et al., 2017](https://arxiv.org/abs/1706.02677)

    Example:

    >>> inner = keras.optimizers.schedules.ExponentialDecay(0.1, 100, 0.5)
    >>> schedule = Warmup(inner, warmup_steps=10)
    >>> [round(float(schedule(s)), 5) for s in (0, 5, 10)]
    [0.0, 0.04665, 0.0933]
    >>> optimizer = keras.optimizers.SGD(learning_rate=schedule)
    """

    def __init__(self, schedule, warmup_steps):
        super().__init__()
        if isinstance(schedule, dict):
            schedule = keras.saving.deserialize_keras_object(schedule)
        valid_number = (
            isinstance(schedule, numbers.Real)
            and not isinstance(schedule, bool)
            and 0 < schedule < math.inf
        )
        if not (
            valid_number
            or isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule)
        ):
            raise ValueError(
                "`schedule` must be a LearningRateSchedule or a float > 0. "
                f"Received: schedule={schedule!r}"
            )
        check_int("warmup_steps", warmup_steps, 0)
        self.schedule = schedule
        self.warmup_steps = int(warmup_steps)

    def _inner(self, step):
        if isinstance(self.schedule, keras.optimizers.schedules.LearningRateSchedule):
            return ops.cast(self.schedule(step), "float32")
        return ops.convert_to_tensor(float(self.schedule), dtype="float32")

    def __call__(self, step):
        with keras.name_scope("Warmup"):
            warmup = float(self.warmup_steps)
            step_f = ops.cast(step, "float32")
            target = self._inner(self.warmup_steps)
            warm_lr = target * step_f / max(warmup, 1.0)
            return ops.where(step_f < warmup, warm_lr, self._inner(step))

    def get_config(self):
        return {
            "schedule": keras.saving.serialize_keras_object(self.schedule),
            "warmup_steps": self.warmup_steps,
        }
