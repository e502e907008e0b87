"""Put a learning-rate schedule and a momentum curve inside an optimizer's step.

`InStepSchedule.attach` gives the optimizer, for one `fit`:

- the learning rate as a `LearningRateSchedule` of `optimizer.iterations`,
  which Keras 3 optimizers evaluate natively inside the compiled step;
- the momentum (`momentum` or `beta_1`), if a curve is given, as a
  `StepValue`, computed from the step inside the compiled step too.

No Python runs per batch. The optimizer's variables are left as they were:
the learning-rate variable stays tracked (so checkpoints written during the
run load into a plain optimizer, and a checkpoint restored by a callback
listed before or after this one fits), and `get_config()` keeps reporting
floats. `sync` writes a step's learning rate into that variable; `detach`
puts the variable and the momentum float back and drops the traced train
function.
"""

import keras

from kerasext.callbacks._momentum import StepValue
from kerasext.callbacks._momentum import inner_optimizer
from kerasext.callbacks._momentum import momentum_attribute


class InStepSchedule:
    """The schedule attached to one optimizer; see the module docstring.

    Args:
        model: The compiled model.
        optimizer: Its (inner) optimizer.
        schedule: The `LearningRateSchedule` now evaluated by the optimizer.
        lr_variable: The optimizer's learning-rate variable, put back by
            `detach`.
        attribute: `"beta_1"`, `"momentum"` or `None`.
        original: The momentum value put back by `detach`.
    """

    def __init__(self, model, optimizer, schedule, lr_variable, attribute, original):
        self.model = model
        self.optimizer = optimizer
        self.schedule = schedule
        self.lr_variable = lr_variable
        self.attribute = attribute
        self.original = original

    @classmethod
    def attach(cls, model, schedule, momentum_curve, caller):
        """Attach `schedule` (and `momentum_curve`, unless `None`) to `model.optimizer`.

        Must run before the train function is traced for this `fit` (a
        callback's `on_train_begin`); it rebuilds the train function.

        Args:
            model: A compiled Keras model.
            schedule: A `LearningRateSchedule`.
            momentum_curve: `None`, or a callable of the step (scalar tensor)
                returning the momentum, written with `keras.ops`.
            caller: Name of the calling callback, for errors and warnings.

        Returns:
            An `InStepSchedule`.

        Raises:
            ValueError: If the optimizer's learning rate is a schedule.
        """
        optimizer = inner_optimizer(model.optimizer)
        _detach_leftover(optimizer)  # From a `fit` interrupted by an exception.
        lr_variable = optimizer._learning_rate
        if not isinstance(lr_variable, keras.Variable):
            raise ValueError(
                f"{caller} sets the learning rate itself, so the optimizer "
                "needs a float `learning_rate`, not a schedule (or use the "
                "matching schedule in `kerasext.schedules`). Received: "
                f"{type(optimizer).__name__} with learning_rate={lr_variable!r}"
            )
        attribute = original = None
        if momentum_curve is not None:
            attribute = momentum_attribute(optimizer, caller)
        if attribute is not None:
            original = getattr(optimizer, attribute)
            step_value = StepValue(
                momentum_curve, optimizer, float(original), name=f"scheduled_{attribute}"
            )
            # Not tracked: the optimizer's variables (and checkpoints) are unchanged.
            object.__setattr__(optimizer, attribute, step_value)
        # The setter would untrack the variable; the optimizer's list keeps it.
        object.__setattr__(optimizer, "_learning_rate", schedule)
        attached = cls(model, optimizer, schedule, lr_variable, attribute, original)
        object.__setattr__(optimizer, "get_config", attached._get_config)
        object.__setattr__(optimizer, "_kerasext_in_step", attached)
        # An earlier `fit` may have traced the step with the floats baked in.
        model.make_train_function(force=True)
        return attached

    def _get_config(self):
        """The optimizer's config as if it held its floats."""
        config = type(self.optimizer).get_config(self.optimizer)
        config["learning_rate"] = float(self.lr_variable)
        if self.attribute is not None:
            config[self.attribute] = self.original
        return config

    def sync(self, learning_rate):
        """Write `learning_rate` (a step's value) into the learning-rate variable."""
        self.lr_variable.assign(learning_rate)

    def detach(self, step):
        """Put the floats back, the learning rate being that of `step`."""
        optimizer = self.optimizer
        if getattr(optimizer, "_kerasext_in_step", None) is not self:
            return
        self.sync(self.schedule(step))
        object.__setattr__(optimizer, "_learning_rate", self.lr_variable)
        if self.attribute is not None:
            object.__setattr__(optimizer, self.attribute, self.original)
        for name in ("get_config", "_kerasext_in_step"):
            optimizer.__dict__.pop(name, None)
        self.model.make_train_function(force=True)


def _detach_leftover(optimizer):
    leftover = getattr(optimizer, "_kerasext_in_step", None)
    if leftover is not None:
        leftover.detach(max(int(optimizer.iterations) - 1, 0))
