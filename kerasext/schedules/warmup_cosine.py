"""Linear warmup, then cosine annealing with optional SGDR warm restarts."""

import math

import keras
from keras import ops

from kerasext._validation import check_int
from kerasext._validation import check_non_negative
from kerasext._validation import check_positive


def cosine_cycles(decay_steps, restarts=None, t_mul=2.0, m_mul=1.0):
    """Split `decay_steps` into SGDR cycles.

    Args:
        decay_steps: Python number > 0, the length of the annealing part.
        restarts: `None` or int >= 0, the number of warm restarts; the
            annealing part holds `restarts + 1` cycles.
        t_mul: Python float > 0, each cycle is `t_mul` times longer than the
            previous one.
        m_mul: Python float > 0, each cycle's peak is `m_mul` times the
            previous one's.

    Returns:
        Three lists of Python floats, one entry per cycle: the position where
        each cycle starts, its length, and its peak as a fraction of `max_lr`.
    """
    n = (restarts or 0) + 1
    if t_mul == 1:
        first = decay_steps / n
    else:
        first = decay_steps * (t_mul - 1.0) / (t_mul**n - 1.0)
    lengths = [first * t_mul**i for i in range(n)]
    starts = [float(sum(lengths[:i])) for i in range(n)]
    peaks = [m_mul**i for i in range(n)]
    return starts, lengths, peaks


@keras.saving.register_keras_serializable(package="kerasext")
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup, then cosine annealing with optional warm restarts.

    Step `s < warmup_steps` uses `max_lr * s / warmup_steps` (0 at step 0, as
    Keras `CosineDecay` with `initial_learning_rate=0` and `warmup_target`).
    From step `warmup_steps` to the last step, `total_steps - 1`, the learning
    rate follows cosine annealing from `max_lr` to `min_lr`: step
    `warmup_steps` is `max_lr` and step `total_steps - 1` is exactly `min_lr`
    (when `warmup_steps < total_steps - 1`). Later steps keep `min_lr`.

    `restarts` is the number of warm restarts (SGDR). The annealing part,
    `D = total_steps - 1 - warmup_steps` steps, is split into `restarts + 1`
    cycles whose lengths grow geometrically, `T_i = T_0 * t_mul**i`
    (Loshchilov & Hutter's `T_mult`), with `T_0` chosen so that the cycles
    exactly fill `D` (`T_0 = D / (restarts + 1)` when `t_mul == 1`). Cycle `i`
    starts at its peak `max_lr * m_mul**i` and anneals to `min_lr`; a cycle
    that starts at a fractional position restarts at the first step at or
    after it. `restarts=None` (or 0) is a single cosine with no restart.

    Keras alternative: `keras.optimizers.schedules.CosineDecay` has a warmup
    but no restarts; `CosineDecayRestarts` has restarts but no warmup, and is
    defined by the first cycle's length, not by the run's length. This one
    has both and is fitted to `total_steps`, so the run ends at `min_lr`.

    Args:
        max_lr: Python float > 0, the learning rate after warmup.
        total_steps: Python int >= 1, the number of optimizer steps in the run.
        warmup_steps: Python int in [0, total_steps), the number of linear
            warmup steps. Defaults to `0`.
        min_lr: Python float in [0, max_lr), the floor of each cosine cycle.
            Defaults to `0.0`.
        restarts: `None` or Python int >= 0, the number of warm restarts.
            Defaults to `None` (no restart).
        t_mul: Python float > 0, cycle length multiplier. Defaults to `2.0`.
        m_mul: Python float > 0, cycle peak multiplier. Defaults to `1.0`.
        name: String, name scope of the ops. Defaults to `"WarmupCosine"`.

    Returns:
        A callable taking the optimizer step and returning the learning rate
        as a float32 scalar tensor.

    Raises:
        ValueError: If `max_lr <= 0`, `total_steps < 1`, `warmup_steps` is
            negative or `>= total_steps`, `min_lr` is negative or
            `>= max_lr`, `restarts` is negative or leaves a cycle shorter
            than one step, or `t_mul`/`m_mul` is not > 0.

    References:
        - [Loshchilov & Hutter, 2016](https://arxiv.org/abs/1608.03983)
        - [Goyal et al., 2017](https://arxiv.org/abs/1706.02677)

    Example:

    >>> schedule = WarmupCosine(max_lr=0.1, total_steps=101, warmup_steps=10)
    >>> [round(float(schedule(s)), 6) for s in (0, 5, 10, 100)]
    [0.0, 0.05, 0.1, 0.0]
    >>> optimizer = keras.optimizers.AdamW(learning_rate=schedule)
    """

    def __init__(
        self,
        max_lr,
        total_steps,
        warmup_steps=0,
        min_lr=0.0,
        restarts=None,
        t_mul=2.0,
        m_mul=1.0,
        name="WarmupCosine",
    ):
        super().__init__()
        check_positive("max_lr", max_lr)
        check_int("total_steps", total_steps, 1)
        check_int("warmup_steps", warmup_steps, 0)
        if warmup_steps >= total_steps:
            raise ValueError(
                "`warmup_steps` must be < total_steps (the warmup is longer "
                f"than the run). Received: warmup_steps={warmup_steps!r}, "
                f"total_steps={total_steps!r}"
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
        self.max_lr = max_lr
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.min_lr = min_lr
        self.restarts = None if restarts is None else int(restarts)
        self.t_mul = t_mul
        self.m_mul = m_mul
        self.name = name
        self._decay_steps = self.total_steps - 1 - self.warmup_steps
        self._starts, self._lengths, self._peaks = cosine_cycles(
            max(self._decay_steps, 1), self.restarts, t_mul, m_mul
        )
        if self.restarts and min(self._lengths) < 1:
            raise ValueError(
                "`restarts` leaves a cosine cycle shorter than one step "
                f"({min(self._lengths):.3g} steps over {self._decay_steps} "
                f"annealing steps with t_mul={t_mul!r}). "
                f"Received: restarts={restarts!r}"
            )

    def __call__(self, step):
        with keras.name_scope(self.name):
            step = ops.cast(step, "float32")
            warmup = float(self.warmup_steps)
            warm_lr = self.max_lr * step / max(warmup, 1.0)

            position = ops.clip(step - warmup, 0.0, float(max(self._decay_steps, 0)))
            later_starts = ops.convert_to_tensor(self._starts[1:] or [math.inf], "float32")
            cycle = ops.sum(ops.cast(position >= later_starts, "int32"))
            start = ops.take(ops.convert_to_tensor(self._starts, "float32"), cycle)
            length = ops.take(ops.convert_to_tensor(self._lengths, "float32"), cycle)
            peak = self.max_lr * ops.take(ops.convert_to_tensor(self._peaks, "float32"), cycle)
            fraction = ops.clip((position - start) / length, 0.0, 1.0)
            cosine = 0.5 * (1.0 + ops.cos(math.pi * fraction))
            cos_lr = self.min_lr + (peak - self.min_lr) * cosine
            return ops.where(step < warmup, warm_lr, cos_lr)

    def get_config(self):
        return {
            "max_lr": self.max_lr,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "min_lr": self.min_lr,
            "restarts": self.restarts,
            "t_mul": self.t_mul,
            "m_mul": self.m_mul,
            "name": self.name,
        }
