"""Make an optimizer's momentum (`momentum` or `beta_1`) settable per step.

Keras 3 optimizers keep SGD's `momentum` and Adam's `beta_1` as Python
floats. `update_step` reads them while the train function is traced, so the
value is baked into the compiled graph: assigning a new float afterwards
changes nothing. `attach_momentum` swaps the float for a scalar
`_MomentumVariable` (a non-trainable `keras.Variable`) and rebuilds the train
function, so the traced step reads the variable and each `assign` reaches the
next update.

The variable is deliberately not tracked by the optimizer (it is set with
`object.__setattr__`), so the optimizer's saved variables, and checkpoints
such as `BackupAndRestore`'s, are unchanged. `get_config()` keeps reporting
the original float, so saving the model mid-training still writes a loadable
optimizer config. `MomentumHandle.detach` puts the float back.
"""

import numbers
import warnings

import keras

MOMENTUM_ATTRIBUTES = ("beta_1", "momentum")


class _MomentumVariable(keras.Variable):
    """Scalar variable standing in for a float hyperparameter.

    Optimizers also use the hyperparameter structurally, in Python, inside
    the traced step: SGD's `if self.momentum != 0:` and RMSprop's
    `if self.momentum > 0:` choose whether momentum buffers exist and are
    used. A plain `keras.Variable` returns a symbolic tensor there, which
    cannot be a Python `bool` in graph mode. Comparisons with a Python number
    therefore answer for the float the optimizer was built with; every other
    use (arithmetic, `ops.cast`) reads the live value.
    """

    def __init__(self, value, name):
        super().__init__(
            initializer=float(value), dtype="float32", trainable=False, name=name
        )
        self._built_value = float(value)

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


class MomentumHandle:
    """The momentum attribute of one optimizer, made assignable per step.

    Args:
        optimizer: The (inner) Keras optimizer holding the attribute.
        attribute: `"beta_1"` or `"momentum"`.
        variable: The `_MomentumVariable` now stored under `attribute`.
        original: The Python float that was there before.
    """

    def __init__(self, optimizer, attribute, variable, original):
        self.optimizer = optimizer
        self.attribute = attribute
        self.variable = variable
        self.original = original

    def assign(self, value):
        self.variable.assign(float(value))

    def value(self):
        return float(self.variable.numpy())

    def detach(self, model):
        """Put the original float back and drop the traced train function."""
        optimizer = self.optimizer
        if getattr(optimizer, self.attribute, None) is self.variable:
            object.__setattr__(optimizer, self.attribute, self.original)
            optimizer.__dict__.pop("get_config", None)
            model.make_train_function(force=True)


def inner_optimizer(optimizer):
    """The optimizer that holds the hyperparameters (unwraps loss scaling)."""
    return getattr(optimizer, "inner_optimizer", optimizer)


def momentum_value(optimizer):
    """Current momentum (`beta_1` or `momentum`) as a float, or `None`."""
    optimizer = inner_optimizer(optimizer)
    for attribute in MOMENTUM_ATTRIBUTES:
        value = getattr(optimizer, attribute, None)
        if isinstance(value, keras.Variable):
            return float(value.numpy())
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return float(value)
    return None


def attach_momentum(model, caller):
    """Make `model.optimizer`'s momentum settable; `None` if it cannot be.

    Looks for `beta_1` (Adam, AdamW, Nadam, Adamax, Lion, ...) first, then
    `momentum` (SGD, RMSprop). Warns and returns `None` when the optimizer
    has neither, when the value is a callable, or when it is 0 (SGD and
    RMSprop then build no momentum buffers, so there is nothing to cycle).
    Must run after the optimizer is built and before the train function is
    traced (a callback's `on_train_begin`); it rebuilds the train function.

    Args:
        model: A compiled Keras model.
        caller: Name of the calling callback, for the warning.

    Returns:
        A `MomentumHandle`, or `None`.
    """
    optimizer = inner_optimizer(model.optimizer)
    name = type(optimizer).__name__
    attribute = next(
        (a for a in MOMENTUM_ATTRIBUTES if hasattr(optimizer, a)), None
    )
    if attribute is None:
        warnings.warn(
            f"{caller}: optimizer {name} has neither `beta_1` nor `momentum`; "
            "only the learning rate is scheduled.",
            stacklevel=3,
        )
        return None
    value = getattr(optimizer, attribute)
    if isinstance(value, _MomentumVariable):  # Left by an interrupted fit.
        return MomentumHandle(optimizer, attribute, value, value._built_value)
    if isinstance(value, keras.Variable):
        warnings.warn(
            f"{caller}: {name}.{attribute} is already a variable; it is "
            "assigned in place.",
            stacklevel=3,
        )
        return MomentumHandle(optimizer, attribute, value, value)
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
    original = value
    variable = _MomentumVariable(original, name=f"scheduled_{attribute}")
    object.__setattr__(optimizer, attribute, variable)

    class_get_config = type(optimizer).get_config

    def get_config():
        config = class_get_config(optimizer)
        config[attribute] = original
        return config

    object.__setattr__(optimizer, "get_config", get_config)
    # The train function may already be traced (an earlier `fit`) with the
    # float baked in; a fresh one reads the variable.
    model.make_train_function(force=True)
    return MomentumHandle(optimizer, attribute, variable, original)
