"""Multi-step decay: the learning rate drops by fixed factors at given steps."""

import math
import numbers

import keras
from keras import ops

from kerasext._validation import check_positive


@keras.saving.register_keras_serializable(package="kerasext")
class StepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Multi-step decay: `initial_lr * factors[i]` from `boundaries[i]` on.

    Steps before `boundaries[0]` use `initial_lr`. From step `boundaries[i]`
    (inclusive) until the next boundary, the learning rate is
    `initial_lr * factors[i]`. The factors are relative to `initial_lr`, not
    to the previous value: `boundaries=[30, 60], factors=[0.1, 0.01]` gives
    `initial_lr`, then a tenth, then a hundredth.

    Keras alternative: `keras.optimizers.schedules.PiecewiseConstantDecay`
    takes absolute values and switches one step later (it uses
    `step > boundary`). This one takes factors, so a change of `initial_lr`
    (for example after an LR range test) keeps the shape, and a boundary is the
    first step of the new value, as in PyTorch's `MultiStepLR`.

    Args:
        initial_lr: Python float > 0, the learning rate before the first
            boundary.
        boundaries: List of Python ints >= 1, strictly increasing: the steps
            at which the learning rate changes.
        factors: List of Python floats > 0, as long as `boundaries`:
            multipliers of `initial_lr` from each boundary on.
        name: String, name scope of the ops. Defaults to `"StepDecay"`.

    Returns:
        A callable taking the optimizer step and returning the learning rate
        as a float32 scalar tensor.

    Raises:
        ValueError: If `initial_lr <= 0`, `boundaries` is empty, not
            integers >= 1, or not strictly increasing, `factors` is not as
            long as `boundaries`, or a factor is not > 0.

    References:
        - [He et al., 2015](https://arxiv.org/abs/1512.03385) (steps of 10x).

    Example:

    >>> schedule = StepDecay(0.1, boundaries=[30, 60], factors=[0.1, 0.01])
    >>> [round(float(schedule(s)), 6) for s in (0, 29, 30, 60)]
    [0.1, 0.1, 0.01, 0.001]
    >>> optimizer = keras.optimizers.SGD(learning_rate=schedule, momentum=0.9)
    """

    def __init__(self, initial_lr, boundaries, factors, name="StepDecay"):
        super().__init__()
        check_positive("initial_lr", initial_lr)
        boundaries = list(boundaries)
        factors = list(factors)
        if not boundaries or not all(
            isinstance(b, numbers.Integral) and not isinstance(b, bool) and b >= 1
            for b in boundaries
        ):
            raise ValueError(
                "`boundaries` must be a non-empty list of integers >= 1. "
                f"Received: boundaries={boundaries!r}"
            )
        if any(b >= c for b, c in zip(boundaries, boundaries[1:])):
            raise ValueError(
                "`boundaries` must be strictly increasing. "
                f"Received: boundaries={boundaries!r}"
            )
        if len(factors) != len(boundaries):
            raise ValueError(
                "`factors` must have one entry per boundary "
                f"({len(boundaries)}). Received: factors={factors!r}"
            )
        for factor in factors:
            if not isinstance(factor, numbers.Real) or not 0 < factor < math.inf:
                raise ValueError(
                    f"`factors` must all be > 0. Received: factors={factors!r}"
                )
        self.initial_lr = initial_lr
        self.boundaries = [int(b) for b in boundaries]
        self.factors = [float(f) for f in factors]
        self.name = name

    def __call__(self, step):
        with keras.name_scope(self.name):
            step = ops.cast(step, "int64")
            boundaries = ops.convert_to_tensor(self.boundaries, dtype="int64")
            index = ops.sum(ops.cast(step >= boundaries, "int32"))
            values = [self.initial_lr] + [self.initial_lr * f for f in self.factors]
            return ops.take(ops.convert_to_tensor(values, dtype="float32"), index)

    def get_config(self):
        return {
            "initial_lr": self.initial_lr,
            "boundaries": self.boundaries,
            "factors": self.factors,
            "name": self.name,
        }
