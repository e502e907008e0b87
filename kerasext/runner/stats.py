"""Statistics of a seeded comparison: mean ± 95% CI per variant, paired effects, a verdict.

Every variant of a comparison is trained once per seed, all variants of a seed from the same
initial weights, so the effect of a technique is measured per seed as a paired difference
(treatment minus control; or a log ratio for multiplicative claims such as "14x fewer
steps") and summarized with a Student t confidence interval over the seeds. The verdict has
three values: a claim `agrees` or `disagrees` only when the interval says so, and is
`inconclusive` when the effect is inside the noise.

Pure NumPy/SciPy: no Keras, no TensorFlow.
"""

import dataclasses
import math

import numpy as np
from scipy import stats as _scipy_stats

from kerasext import _validation

AGREES, DISAGREES, INCONCLUSIVE = "agrees", "disagrees", "inconclusive"
CONFIDENCE = 0.95


@dataclasses.dataclass(frozen=True)
class Interval:
    """A mean and its two-sided confidence interval over `n` values.

    `low` and `high` are NaN when fewer than two finite values were given.
    """

    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self):
        return (self.high - self.low) / 2

    def contains(self, value):
        return bool(self.low <= value <= self.high)

    def format(self, spec=".4f", ratio=False):
        """`"0.9811 ± 0.0042"`, or `"2.10x [1.50x, 2.90x]"` for a ratio."""
        if not math.isfinite(self.mean):
            return "—"
        if ratio:
            if not math.isfinite(self.low):
                return f"{self.mean:.2f}x (1 seed)"
            return f"{self.mean:.2f}x [{self.low:.2f}x, {self.high:.2f}x]"
        if not math.isfinite(self.low):
            return f"{format(self.mean, spec)} (1 seed)"
        return f"{format(self.mean, spec)} ± {format(self.half_width, spec)}"

    def to_dict(self):
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in dataclasses.asdict(self).items()}


def mean_interval(values, confidence=CONFIDENCE):
    """The mean of `values` with its Student t confidence interval.

    Args:
        values: numbers (one per seed). Non-finite values are dropped.
        confidence: the interval's coverage. Defaults to `0.95`.

    Returns:
        An `Interval`; its bounds are NaN with fewer than two finite values.
    """
    _validation.check_open_unit("confidence", confidence)
    x = np.asarray([v for v in values if v is not None], dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = float(x.mean())
    if n < 2:
        return Interval(mean, math.nan, math.nan, n)
    half = float(_scipy_stats.t.ppf((1 + confidence) / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return Interval(mean, mean - half, mean + half, n)


def paired_effect(treatment, control, ratio=False, confidence=CONFIDENCE):
    """The per-seed effect of a treatment over the control, with its confidence interval.

    Args:
        treatment, control: equal-length sequences, one value per seed, in the same seed order.
        ratio: `False` for differences (`treatment - control`); `True` for ratios
            (`treatment / control`), summarized on the log scale and returned as ratios
            (a geometric mean with its interval). Defaults to `False`.
        confidence: the interval's coverage. Defaults to `0.95`.

    Returns:
        An `Interval` of the effect. Seeds where either value is missing or non-finite (or
        not > 0 for a ratio) are left out.

    Raises:
        ValueError: if the two sequences differ in length.
    """
    treatment, control = list(treatment), list(control)
    if len(treatment) != len(control):
        raise ValueError(
            f"`treatment` and `control` must hold one value per seed each. Received: "
            f"{len(treatment)} and {len(control)} values"
        )
    pairs = [(float(t), float(c)) for t, c in zip(treatment, control)
             if t is not None and c is not None and math.isfinite(t) and math.isfinite(c)]
    if not ratio:
        return mean_interval([t - c for t, c in pairs], confidence)
    logs = mean_interval([math.log(t / c) for t, c in pairs if t > 0 and c > 0], confidence)
    return Interval(*(math.exp(v) if math.isfinite(v) else v for v in (logs.mean, logs.low, logs.high)),
                    logs.n)


def verdict(effect, direction=1, claimed=None, null=None):
    """Agrees, disagrees or inconclusive: what the effect's interval says about a claim.

    A directional claim (`claimed=None`: "the technique raises the metric", `direction=1`;
    "lowers it", `direction=-1`) agrees when the whole interval lies on the claimed side of
    no effect, disagrees when it lies wholly on the other side, and is inconclusive when it
    includes no effect.

    A quantitative claim (`claimed=14.0`: "14x fewer steps") agrees when the interval includes
    the claimed value and excludes no effect, is inconclusive when it includes both, and
    disagrees when it excludes the claimed value.

    Args:
        effect: an `Interval` from `paired_effect`.
        direction: `1` or `-1`, the sign of the claimed effect. Defaults to `1`.
        claimed: the claimed size of the effect, or `None` for a directional claim.
        null: the value meaning "no effect". Defaults to `0` for differences; pass `1.0` for
            ratios.

    Returns:
        `"agrees"`, `"disagrees"` or `"inconclusive"` (always inconclusive with fewer than
        two seeds).
    """
    _validation.check_choice("direction", direction, (1, -1))
    null = 0.0 if null is None else float(null)
    if not (math.isfinite(effect.low) and math.isfinite(effect.high)):
        return INCONCLUSIVE
    if claimed is not None:
        if not effect.contains(claimed):
            return DISAGREES
        return INCONCLUSIVE if effect.contains(null) else AGREES
    if effect.contains(null):
        return INCONCLUSIVE
    above = effect.low > null
    return AGREES if above == (direction > 0) else DISAGREES


def minimum_detectable_effect(n, sd, confidence=CONFIDENCE, power=0.8):
    """The smallest true effect a paired t-test over `n` seeds detects with `power`.

    For a test set of `m` examples and accuracy near `p`, pass the standard deviation of a
    per-seed accuracy difference, e.g. `sqrt(2 * p * (1 - p) / m)` for independent errors.

    Returns:
        The effect size in the units of `sd` (NaN for `n < 2`).
    """
    if n < 2:
        return math.nan
    t_alpha = _scipy_stats.t.ppf((1 + confidence) / 2, n - 1)
    t_beta = _scipy_stats.t.ppf(power, n - 1)
    return float((t_alpha + t_beta) * sd / math.sqrt(n))
