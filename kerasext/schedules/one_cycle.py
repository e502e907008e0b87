"""One-cycle learning rate schedule and its matching momentum curve."""

import math

import keras
from keras import ops

from kerasext._validation import check_choice
from kerasext._validation import check_greater
from kerasext._validation import check_int
from kerasext._validation import check_open_unit
from kerasext._validation import check_positive

ANNEAL_MODES = ("cos", "linear")


def _anneal(start, end, fraction, anneal):
    """Value `fraction` (0..1) of the way from `start` to `end`."""
    if anneal == "cos":
        # fastai's `sched_cos`, written so that fraction=1 lands on `end`.
        weight = 0.5 * (1.0 + ops.cos(math.pi * fraction))
        return end + (start - end) * weight
    return start + (end - start) * fraction


def one_cycle_curve(step, total_steps, pct_start, start, peak, end, anneal="cos"):
    """Two-phase curve `start -> peak -> end` over `total_steps` steps.

    The curve equals `start` at step 0, `peak` at step
    `pct_start * (total_steps - 1)` and `end` at step `total_steps - 1`; later
    steps stay at `end`. Both phases use the same annealing.

    Args:
        step: Scalar (Python number or tensor): the optimizer step.
        total_steps: Python int >= 1, the length of the cycle in steps.
        pct_start: Python float in (0, 1), the fraction of the cycle spent
            going from `start` to `peak`.
        start: Python float, the value at step 0.
        peak: Python float, the value at the end of the first phase.
        end: Python float, the value at the last step.
        anneal: `"cos"` or `"linear"`. Defaults to `"cos"`.

    Returns:
        A float32 scalar tensor.
    """
    last = float(total_steps - 1)
    up_steps = pct_start * last
    down_steps = last - up_steps
    step = ops.clip(ops.cast(step, "float32"), 0.0, last)
    up_fraction = ops.clip(step / (up_steps if up_steps > 0 else 1.0), 0.0, 1.0)
    down_fraction = ops.clip(
        (step - up_steps) / (down_steps if down_steps > 0 else 1.0), 0.0, 1.0
    )
    return ops.where(
        step < up_steps,
        _anneal(start, peak, up_fraction, anneal),
        _anneal(peak, end, down_fraction, anneal),
    )


def one_cycle_momentum(
    step, total_steps, moms=(0.95, 0.85, 0.95), pct_start=0.25, anneal="cos"
):
    """Momentum of the one-cycle policy at `step`.

    Momentum moves inversely to the one-cycle learning rate: from `moms[0]`
    at step 0 down to `moms[1]` where the learning rate peaks (step
    `pct_start * (total_steps - 1)`), then back to `moms[2]` at step
    `total_steps - 1`. Used by `kerasext.callbacks.OneCycle` for SGD's
    `momentum` or Adam's `beta_1`.

    Keras has no momentum schedule; this is the one fastai's `fit_one_cycle`
    uses, kept in the same module as `OneCycle` so both curves share one
    definition of the phases.

    Args:
        step: Scalar (Python number or tensor): the optimizer step.
        total_steps: Python int >= 1, the length of the cycle in steps.
        moms: Tuple of three floats `(start, low, end)`. Defaults to
            `(0.95, 0.85, 0.95)`.
        pct_start: Python float in (0, 1). Defaults to `0.25`.
        anneal: `"cos"` or `"linear"`. Defaults to `"cos"`.

    Returns:
        A float32 scalar tensor.

    Raises:
        ValueError: If `total_steps < 1`, `pct_start` is outside (0, 1),
            `moms` is not three numbers in [0, 1], or `anneal` is unknown.

    References:
        - [Smith, 2018](https://arxiv.org/abs/1803.09820)

    Example:

    >>> round(float(one_cycle_momentum(0, 101)), 4)
    0.95
    >>> round(float(one_cycle_momentum(25, 101)), 4)
    0.85
    """
    check_int("total_steps", total_steps, 1)
    check_open_unit("pct_start", pct_start)
    check_choice("anneal", anneal, ANNEAL_MODES)
    check_moms(moms, 3)
    return one_cycle_curve(
        step, total_steps, pct_start, moms[0], moms[1], moms[2], anneal
    )


def check_moms(moms, length):
    """Raise unless `moms` holds `length` numbers in [0, 1]."""
    try:
        ok = len(moms) == length and all(0 <= float(m) <= 1 for m in moms)
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(
            f"`moms` must be {length} numbers in [0, 1]. Received: moms={moms!r}"
        )
    return tuple(float(m) for m in moms)


@keras.saving.register_keras_serializable(package="kerasext")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """One-cycle learning rate schedule (fastai semantics).

    The learning rate starts at `max_lr / div` at step 0, rises to `max_lr`
    at step `pct_start * (total_steps - 1)` (exactly `max_lr` there when that
    is a whole number), then anneals to `max_lr / div_final` at the last step,
    `total_steps - 1`. Later steps keep `max_lr / div_final`. Both phases use
    `anneal` (cosine by default, as fastai's `combined_cos`).

    The position is the optimizer's step count, so the schedule is saved with
    the optimizer and continues exactly after a restore. To cycle momentum as
    well, use `kerasext.callbacks.OneCycle`, or `one_cycle_momentum` with the
    same arguments.

    Keras alternative: none built in. `keras.optimizers.schedules.CosineDecay`
    with `warmup_target` has a linear warmup and a single cosine, but not the
    start/peak/end ratios (`div`, `div_final`) that define one-cycle training.

    Args:
        max_lr: Python float > 0, the peak learning rate.
        total_steps: Python int >= 1, the number of optimizer steps in the
            run (epochs * steps per epoch).
        pct_start: Python float in (0, 1), the fraction of the steps spent
            rising. Defaults to `0.25`.
        div: Python float > 1; the schedule starts at `max_lr / div`.
            Defaults to `25.0`.
        div_final: Python float > 0; the schedule ends at
            `max_lr / div_final`. Defaults to `1e4`.
        anneal: `"cos"` or `"linear"`. Defaults to `"cos"`.
        name: String, name scope of the ops. Defaults to `"OneCycle"`.

    Returns:
        A callable taking the optimizer step and returning the learning rate
        as a float32 scalar tensor.

    Raises:
        ValueError: If `max_lr <= 0`, `total_steps < 1`, `pct_start` is not
            in (0, 1), `div <= 1`, `div_final <= 0` or `anneal` is unknown.

    References:
        - [Smith & Topin, 2017](https://arxiv.org/abs/1708.07120)
        - [Smith, 2018](https://arxiv.org/abs/1803.09820)

    Example:

    >>> schedule = OneCycle(max_lr=0.1, total_steps=101)
    >>> [round(float(schedule(s)), 6) for s in (0, 25, 100)]
    [0.004, 0.1, 1e-05]
    >>> optimizer = keras.optimizers.SGD(learning_rate=schedule, momentum=0.9)
    """

    def __init__(
        self,
        max_lr,
        total_steps,
        pct_start=0.25,
        div=25.0,
        div_final=1e4,
        anneal="cos",
        name="OneCycle",
    ):
        super().__init__()
        check_positive("max_lr", max_lr)
        check_int("total_steps", total_steps, 1)
        check_open_unit("pct_start", pct_start)
        check_greater("div", div, 1)
        check_positive("div_final", div_final)
        check_choice("anneal", anneal, ANNEAL_MODES)
        self.max_lr = max_lr
        self.total_steps = int(total_steps)
        self.pct_start = pct_start
        self.div = div
        self.div_final = div_final
        self.anneal = anneal
        self.name = name

    def __call__(self, step):
        with keras.name_scope(self.name):
            return one_cycle_curve(
                step,
                self.total_steps,
                self.pct_start,
                self.max_lr / self.div,
                self.max_lr,
                self.max_lr / self.div_final,
                self.anneal,
            )

    def get_config(self):
        return {
            "max_lr": self.max_lr,
            "total_steps": self.total_steps,
            "pct_start": self.pct_start,
            "div": self.div,
            "div_final": self.div_final,
            "anneal": self.anneal,
            "name": self.name,
        }
