"""The benchmarks' shared helpers (`benchmarks/_bench.py`) against hand-computed values."""

import os
import sys
from types import SimpleNamespace

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
import _bench  # noqa: E402


def test_median_and_spread_prints_median_then_min_max():
    assert _bench.median_and_spread([1.04, 0.99, 1.012]) == "1.012 (0.990-1.040)"
    assert _bench.median_and_spread([2301.4, 2296.0, 2331.0], 0, thousands=True) == "2,301 (2,296-2,331)"
    assert _bench.median_and_spread([0.5, float("inf"), 0.25], 2) == "0.50 (0.25-never)"
    assert _bench.median_and_spread([]) == "-"
    assert _bench.median_and_spread([0.7], 2, bare_single=True) == "0.70"
    assert _bench.median_and_spread([0.7], 2) == "0.70 (0.70-0.70)"


def test_ratios_pair_the_same_repeat_or_round():
    samples = {"ours": [1.0, 3.0], "theirs": [4.0, 6.0]}
    assert _bench.repeat_ratios(samples, "ours", "theirs") == [0.25, 0.5]
    # A round's first epoch (tracing) is left out; a round with one epoch gives no ratio.
    timers = {"a": SimpleNamespace(blocks=[[9.0, 2.0, 4.0], [9.0]]),
              "b": SimpleNamespace(blocks=[[9.0, 1.0, 3.0], [9.0]])}
    assert _bench.block_ratios(timers, "a", "b") == [3.0 / 2.0]
