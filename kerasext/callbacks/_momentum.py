"""An optimizer's momentum (`momentum` or `beta_1`) as a function of its step.

Keras 3 optimizers keep SGD's `momentum` and Adam's `beta_1` as Python floats
and read them inside `update_step`, so a float is baked into the traced train
step. `StepValue` stands in for the float: a scalar `keras.Variable` whose
value is `curve(optimizer.iterations)`, computed with `keras.ops` whenever it
is read. Inside the compiled step that is a graph (or traced JAX) computation
of the step being run; read from Python (`float(optimizer.momentum)`) it is
the value of the next step, as `optimizer.learning_rate` is for a
`LearningRateSchedule`. Nothing is assigned, so it works the same under every
backend, including JAX's stateless train step.
"""

import numbers
import warnings

import keras
from keras import ops

MOMENTUM_ATTRIBUTES = ("beta_1", "momentum")


class StepValue(keras.Variable):
    """Read-only scalar: `curve(optimizer.iterations)`, evaluated when read.

    Optimizers also use the hyperparameter structurally, in Python, inside
    the traced step: SGD's `if self.momentum != 0:` and RMSprop's
    `if self.momentum > 0:` choose whether momentum buffers exist and are
    used. A tensor cannot be a Python `bool` in a traced function, so
    comparisons with a Python number answer for `built_value`, the float the
    optimizer was built with; every other use (arithmetic, `ops.cast`,
    `float()`) reads the curve.

    Args:
        curve: Callable taking the step (a scalar tensor) and returning the
            value as a scalar tensor, written with `keras.ops`.
        optimizer: The optimizer whose `iterations` is the step.
        built_value: The Python float the optimizer held.
        name: String, the variable's name.
    """

    def __init__(self, curve, optimizer, built_value, name):
        super().__init__(
            initializer=float(built_value), dtype="float32", trainable=False, name=name
        )
        self._curve = curve
        self._optimizer = optimizer
        self._built_value = float(built_value)

    @property
    def value(self):
        return ops.cast(self._curve(self._optimizer.iterations), "float32")

    def assign(self, value):
        raise TypeError(
            f"`{self.name}` follows the optimizer step and cannot be assigned. "
            f"Received: value={value!r}"
        )

    def _compare(self, other, python_op, keras_op):
        if isinstance(other, numbers.Real) and not isinstance(other, bool):
            return python_op(self._built_value, float(other))
        return keras_op(other)

    def __eq__(self, other):
        return self._compare(other, lambda a, b: a == b, super().__eq__)

    def __ne__(self, other):
        return self._compare(other, lambda a, b: a != b, super().__ne__)

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b, super().__lt__)

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b, super().__le__)

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b, super().__gt__)

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b, super().__ge__)

    __hash__ = None  # As `keras.Variable`.


def inner_optimizer(optimizer):
    """The optimizer that holds the hyperparameters (unwraps loss scaling)."""
    return getattr(optimizer, "inner_optimizer", optimizer)


def momentum_value(optimizer):
    """Current momentum (`beta_1` or `momentum`) as a float, or `None`."""
    optimizer = inner_optimizer(optimizer)
    for attribute in MOMENTUM_ATTRIBUTES:
        value = getattr(optimizer, attribute, None)
        if isinstance(value, keras.Variable):
            return float(value)
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return float(value)
    return None


def momentum_attribute(optimizer, caller):
    """The name of `optimizer`'s momentum attribute, or `None` (with a warning).

    Looks for `beta_1` (Adam, AdamW, Nadam, Adamax, Lion, ...) first, then
    `momentum` (SGD, RMSprop). Warns and returns `None` when the optimizer
    has neither, when the value is not a number, or when it is 0 (SGD and
    RMSprop then build no momentum buffers, so there is nothing to cycle).

    Args:
        optimizer: The (inner) Keras optimizer.
        caller: Name of the calling callback, for the warning.
    """
    name = type(optimizer).__name__
    attribute = next((a for a in MOMENTUM_ATTRIBUTES if hasattr(optimizer, a)), None)
    if attribute is None:
        warnings.warn(
            f"{caller}: optimizer {name} has neither `beta_1` nor `momentum`; "
            "only the learning rate is scheduled.",
            stacklevel=3,
        )
        return None
    value = getattr(optimizer, attribute)
    if isinstance(value, keras.Variable):
        value = float(value)
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        warnings.warn(
            f"{caller}: {name}.{attribute}={value!r} is not a number; only "
            "the learning rate is scheduled.",
            stacklevel=3,
        )
        return None
    if value == 0:
        warnings.warn(
            f"{caller}: {name}.{attribute}=0 means the optimizer has no "
            "momentum buffers; only the learning rate is scheduled. Compile "
            f"with {attribute} > 0 to cycle it.",
            stacklevel=3,
        )
        return None
    return attribute
