"""The comparison statistics against values computed by hand (t tables), and the verdicts."""

import math

import pytest

from kerasext.runner import stats

# Two-sided 95% Student t quantiles from a printed table (not from SciPy).
T975 = {2: 4.302653, 4: 2.776445, 9: 2.262157}


def test_mean_interval_matches_the_t_table():
    values = [1.0, 2.0, 3.0]  # mean 2, sd 1
    interval = stats.mean_interval(values)
    half = T975[2] * 1.0 / math.sqrt(3)
    assert interval.mean == pytest.approx(2.0)
    assert interval.low == pytest.approx(2.0 - half, rel=1e-6)
    assert interval.high == pytest.approx(2.0 + half, rel=1e-6)
    assert interval.n == 3


def test_paired_difference_of_known_scores():
    control = [0.90, 0.91, 0.92, 0.89, 0.93]
    treatment = [0.92, 0.93, 0.93, 0.92, 0.95]  # differences 0.02, 0.02, 0.01, 0.03, 0.02
    effect = stats.paired_effect(treatment, control)
    diffs = [0.02, 0.02, 0.01, 0.03, 0.02]
    mean = sum(diffs) / 5
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / 4)
    assert effect.mean == pytest.approx(mean)
    assert effect.half_width == pytest.approx(T975[4] * sd / math.sqrt(5), rel=1e-6)
    assert effect.low > 0
    assert stats.verdict(effect) == stats.AGREES
    assert stats.verdict(effect, direction=-1) == stats.DISAGREES


def test_an_effect_inside_the_noise_is_inconclusive():
    control = [0.90, 0.95, 0.88, 0.93]
    treatment = [0.91, 0.93, 0.90, 0.92]  # differences +0.01, -0.02, +0.02, -0.01
    effect = stats.paired_effect(treatment, control)
    assert effect.contains(0.0)
    assert stats.verdict(effect) == stats.INCONCLUSIVE
    assert stats.verdict(effect, direction=-1) == stats.INCONCLUSIVE


def test_a_single_seed_is_always_inconclusive():
    effect = stats.paired_effect([0.99], [0.5])
    assert math.isnan(effect.low)
    assert stats.verdict(effect) == stats.INCONCLUSIVE
    assert effect.format() == "0.4900 (1 seed)"


def test_ratio_is_a_geometric_mean_on_the_log_scale():
    control = [10.0, 20.0, 40.0]
    treatment = [20.0, 40.0, 80.0]  # exactly 2x each seed: zero spread
    effect = stats.paired_effect(treatment, control, ratio=True)
    assert effect.mean == pytest.approx(2.0)
    assert effect.low == pytest.approx(2.0) and effect.high == pytest.approx(2.0)
    logs = [math.log(2.0), math.log(3.0), math.log(4.0)]
    effect = stats.paired_effect([2.0, 3.0, 4.0], [1.0, 1.0, 1.0], ratio=True)
    mean = sum(logs) / 3
    sd = math.sqrt(sum((v - mean) ** 2 for v in logs) / 2)
    assert effect.mean == pytest.approx(math.exp(mean))
    assert effect.low == pytest.approx(math.exp(mean - T975[2] * sd / math.sqrt(3)), rel=1e-6)


@pytest.mark.parametrize(
    "low, high, expected",
    [
        (10.0, 20.0, stats.AGREES),  # includes the claimed 14, excludes no effect
        (0.5, 20.0, stats.INCONCLUSIVE),  # includes both
        (1.5, 5.0, stats.DISAGREES),  # an effect, but far from 14x
        (0.6, 0.9, stats.DISAGREES),  # the opposite effect
    ],
)
def test_quantitative_claims(low, high, expected):
    effect = stats.Interval((low + high) / 2, low, high, 5)
    assert stats.verdict(effect, claimed=14.0, null=1.0) == expected


def test_missing_seeds_are_dropped_pairwise():
    effect = stats.paired_effect([0.9, None, 0.8, float("nan")], [0.8, 0.7, 0.7, 0.6])
    assert effect.n == 2
    assert effect.mean == pytest.approx(0.1)


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="treatment"):
        stats.paired_effect([1, 2], [1])
    with pytest.raises(ValueError, match="direction"):
        stats.verdict(stats.Interval(1, 0, 2, 3), direction=0)
    with pytest.raises(ValueError, match="confidence"):
        stats.mean_interval([1, 2], confidence=1.5)


def test_minimum_detectable_effect_shrinks_with_seeds():
    sd = math.sqrt(2 * 0.9 * 0.1 / 1000)
    few, many = stats.minimum_detectable_effect(3, sd), stats.minimum_detectable_effect(10, sd)
    assert many < few
    assert math.isnan(stats.minimum_detectable_effect(1, sd))
