"""The seeded comparison table (issue 16): mean ± 95% CI per variant, paired effects and
three-valued verdicts, checked against SciPy's own t-tests (an independent computation), and
the README cell tools/recipes_table.py makes of them."""

import importlib.util
import json
import math
import os

import numpy as np
import pytest
from scipy import stats as scipy_stats

from kerasext.runner import stats
from kerasext.runner.comparison import Comparison
from conftest import ROOT

spec = importlib.util.spec_from_file_location("recipes_table", os.path.join(ROOT, "tools", "recipes_table.py"))
table_module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(table_module)

SEEDS = [0, 1, 2, 3]
CONTROL = [0.90, 0.92, 0.91, 0.93]
BETTER = [0.93, 0.94, 0.94, 0.95]  # +0.03, +0.02, +0.03, +0.02: clearly above the noise
NOISY = [0.91, 0.90, 0.93, 0.92]  # +0.01, -0.02, +0.02, -0.01: inside it
WORSE = [0.85, 0.88, 0.86, 0.87]


def seeded_table(**variants):
    table = Comparison("demo", [("test_accuracy", "test accuracy"), ("epochs_to_target", "epochs", "d")],
                       claim="it helps", recipe="demo", seeds=SEEDS)
    for name, scores in variants.items():
        table.add_seeds(name, [{"test_accuracy": s, "epochs_to_target": 3} for s in scores])
    return table


def test_cells_are_the_mean_and_the_t_interval_scipy_computes():
    table = seeded_table(control=CONTROL, better=BETTER)
    markdown = table.to_markdown()
    for name, scores in (("control", CONTROL), ("better", BETTER)):
        expected = scipy_stats.ttest_1samp(scores, 0.0).confidence_interval(0.95)
        row = table.row(name)
        assert row["test_accuracy"] == pytest.approx(np.mean(scores))
        assert row["intervals"]["test_accuracy"]["low"] == pytest.approx(expected.low)
        assert row["intervals"]["test_accuracy"]["high"] == pytest.approx(expected.high)
        assert row["seeds"]["test_accuracy"] == scores
        half = (expected.high - expected.low) / 2
        assert f"| {name} | {np.mean(scores):.4f} ± {half:.4f} | 3.0 ± 0.0 |" in markdown  # equal epochs: no spread
    assert "Seeds 0, 1, 2, 3:" in markdown


def test_the_paired_effect_and_its_verdict_match_scipys_paired_t_test():
    table = seeded_table(control=CONTROL, better=BETTER, noisy=NOISY, worse=WORSE)
    key = table.add_effect("test_accuracy", "control")
    for name, scores in (("better", BETTER), ("noisy", NOISY), ("worse", WORSE)):
        expected = scipy_stats.ttest_rel(scores, CONTROL).confidence_interval(0.95)
        interval = table.row(name)["intervals"][key]
        assert table.row(name)[key] == pytest.approx(np.mean(np.subtract(scores, CONTROL)))
        assert (interval["low"], interval["high"]) == pytest.approx((expected.low, expected.high))
    assert table.row("control")[key] is None
    assert table.judge("test_accuracy", "control", "better") == stats.AGREES
    assert table.judge("test_accuracy", "control", "noisy") == stats.INCONCLUSIVE  # the effect is inside the noise
    assert table.judge("test_accuracy", "control", "worse") == stats.DISAGREES
    assert table.judge("test_accuracy", "control", "worse", direction=-1) == stats.AGREES
    effect = table.judgments[0]["effect"]
    expected = scipy_stats.ttest_rel(BETTER, CONTROL).confidence_interval(0.95)
    assert (effect["low"], effect["high"]) == pytest.approx((expected.low, expected.high))
    assert table.judgments[0]["text"].startswith("better − control, test accuracy: +0.0250 ± ")
    assert table.verdict == stats.DISAGREES  # one claim contradicted: the whole claim does not hold


def test_ties_never_count_for_or_against_a_claim():
    table = seeded_table(control=CONTROL, same=CONTROL)
    assert table.judge("test_accuracy", "control", "same") == stats.INCONCLUSIVE
    assert table.judge("test_accuracy", "control", "same", direction=-1) == stats.INCONCLUSIVE
    assert table.verdict == stats.INCONCLUSIVE


def test_a_quantitative_ratio_claim_uses_the_log_scale():
    steps_with = [20.0, 23.0, 25.0, 21.0]
    steps_without = [40.0, 52.0, 45.0, 47.0]  # about 2x: far from 14x
    table = Comparison("bn", [("steps", "steps")], seeds=SEEDS)
    table.add_seeds("with", [{"steps": s} for s in steps_with])
    table.add_seeds("without", [{"steps": s} for s in steps_without])
    assert table.judge("steps", "with", "without", ratio=True, claimed=14.0) == stats.DISAGREES
    logs = np.log(np.divide(steps_without, steps_with))
    expected = scipy_stats.ttest_1samp(logs, 0.0).confidence_interval(0.95)
    effect = table.judgments[0]["effect"]
    assert (effect["low"], effect["high"]) == pytest.approx((math.exp(expected.low), math.exp(expected.high)))
    assert table.judgments[0]["text"].endswith("(claim: 14x): disagrees")
    assert table.judge("steps", "with", "without", ratio=True, claimed=2.0) == stats.AGREES
    wide = Comparison("bn", [("steps", "steps")], seeds=[0, 1, 2])
    wide.add_seeds("with", [{"steps": s} for s in (10.0, 10.0, 10.0)])
    wide.add_seeds("without", [{"steps": s} for s in (8.0, 150.0, 30.0)])  # holds both 14x and 1x
    assert wide.judge("steps", "with", "without", ratio=True, claimed=14.0) == stats.INCONCLUSIVE


def test_a_missing_value_counts_as_given_or_is_left_out():
    table = Comparison("t", [("epochs_to_target", "epochs", "d"), ("seconds", "s")], seeds=[0, 1, 2])
    table.add_seeds("a", [{"epochs_to_target": e, "seconds": 10.0} for e in (3, 4, 3)])
    table.add_seeds("b", [{"epochs_to_target": e, "seconds": 12.0} for e in (5, None, 6)])
    assert "| b | 5.5 ± 6.4 (2/3) |" in table.to_markdown()  # the seeds that reached it, and how many
    table.judge("epochs_to_target", "a", "b", direction=-1, missing=11)
    assert table.judgments[-1]["effect"]["n"] == 3
    assert table.judgments[-1]["effect"]["mean"] == pytest.approx((2 + 7 + 3) / 3)
    assert "counted as 11" in table.judgments[-1]["label"]
    assert table.values("b", "epochs_to_target", missing="seconds") == [5, 12.0, 6]
    table.judge("epochs_to_target", "a", "b", direction=-1)
    assert table.judgments[-1]["effect"]["n"] == 2


def test_one_seed_is_always_inconclusive_and_says_so():
    table = Comparison("t", [("test_accuracy", "test accuracy")], seeds=[7])
    table.add_seeds("a", [{"test_accuracy": 0.5}])
    table.add_seeds("b", [{"test_accuracy": 0.99}])
    assert table.judge("test_accuracy", "a", "b") == stats.INCONCLUSIVE
    markdown = table.to_markdown()
    assert "One seed (7)" in markdown and "every verdict is inconclusive" in markdown
    assert "| b | 0.9900 |" in markdown


def test_text_and_lists_per_seed_and_a_wrong_count_of_runs():
    table = Comparison("t", [("verdict", "verdict"), ("recall", "recall")], seeds=[0, 1, 2])
    row = table.add_seeds("a", [{"verdict": v, "recall": [1.0, r]} for v, r in
                                (("healthy", 0.5), ("overfitting", 0.7), ("healthy", 0.9))])
    assert row["verdict"] == "healthy (2/3)" and row["recall"] == pytest.approx([1.0, 0.7])
    with pytest.raises(ValueError, match="one metrics dict per seed"):
        table.add_seeds("b", [{"verdict": "healthy"}])
    with pytest.raises(ValueError, match="`variant` must name a row"):
        table.judge("recall", "a", "nope")


def test_to_dict_is_json_and_the_readme_cell_shows_verdict_and_effect(tmp_path):
    table = seeded_table(control=CONTROL, better=BETTER, noisy=NOISY)
    table.judge("test_accuracy", "control", "better")
    table.judge("test_accuracy", "control", "noisy")
    saved = json.loads(json.dumps(table.to_dict()))
    assert saved["verdict"] == stats.INCONCLUSIVE and saved["seeds"] == SEEDS
    assert [j["verdict"] for j in saved["judgments"]] == [stats.AGREES, stats.INCONCLUSIVE]
    folder = tmp_path / "demo" / "20260101-000000"
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps({"test": {"accuracy": 0.9}, "results": saved}))
    table.write(str(folder))
    text = table_module.recipes_table(str(tmp_path))
    cell = next(line for line in text.splitlines() if line.startswith("| [demo]")).split(" | ")[-1]
    assert cell.startswith("**inconclusive** (4 seeds): better − control, test accuracy: +0.0250 ± ")
    assert "(claim: &gt; 0): agrees; noisy − control" in cell and cell.endswith("inconclusive |")


def test_independent_claims_get_one_bold_verdict_each_in_the_readme_cell():
    saved = {"verdict": "focal: inconclusive; huber: agrees", "seeds": [0, 1, 2],
             "verdicts": {"focal vs cross-entropy": stats.INCONCLUSIVE, "Huber vs MSE": stats.AGREES},
             "judgments": [{"text": "focal − CE: +0.01 ± 0.05: inconclusive"},
                           {"text": "MAE MSE / Huber: 18x [9x, 35x]: agrees"}]}
    cell = table_module.verdict(saved)
    assert cell == ("**inconclusive** focal vs cross-entropy; **agrees** Huber vs MSE (3 seeds): "
                    "focal − CE: +0.01 ± 0.05: inconclusive; MAE MSE / Huber: 18x [9x, 35x]: agrees")


def test_each_judgment_states_the_smallest_effect_its_seeds_detect():
    table = seeded_table(control=CONTROL, noisy=NOISY)
    table.judge("test_accuracy", "control", "noisy")
    diffs = np.subtract(NOISY, CONTROL)
    n, sd = len(diffs), np.std(diffs, ddof=1)  # a paired t-test: alpha 0.05 two-sided, power 0.8
    expected = (scipy_stats.t.ppf(0.975, n - 1) + scipy_stats.t.ppf(0.8, n - 1)) * sd / math.sqrt(n)
    assert table.judgments[0]["minimum_detectable_effect"] == pytest.approx(expected)
    assert f"detect 80% of the time: {expected:.4f})" in table.to_markdown()


def test_each_data_set_gets_its_own_table_from_its_own_runs(tmp_path):
    def run(name, dataset, accuracy):
        folder = tmp_path / "demo" / name
        folder.mkdir(parents=True)
        (folder / "metrics.json").write_text(json.dumps({"test": {"accuracy": accuracy}, "results": {}}))
        if dataset is not None:
            (folder / "config.json").write_text(json.dumps({"dataset": dataset}))

    run("20260101-000000", None, 0.91)  # no config.json: counted as digits
    run("20260102-000000", "../shared/data/cifar10_test.npz", 0.52)
    run("20260103-000000", "digits", 0.97)
    run("20260104-000000", "/elsewhere/other.npz", 0.33)
    digits = table_module.recipes_table(str(tmp_path))
    assert "test accuracy 0.9700" in digits and "the bundled digits data" in digits
    cifar = table_module.recipes_table(str(tmp_path), "make results-cifar", "cifar10_test.npz",
                                       docs="docs/recipes/cifar")
    assert "test accuracy 0.5200" in cifar and "0.97" not in cifar and "0.33" not in cifar
    assert "the flags in each row's command, on `cifar10_test.npz`" in cifar
    assert "by `make results-cifar`" in cifar
    (tmp_path / "demo" / "20260102-000000" / "comparison.md").write_text("| a |\n")
    (tmp_path / "demo" / "20260102-000000" / "metrics.json").write_text(json.dumps(
        {"test": {"accuracy": 0.52}, "results": {"rows": [{"variant": "a"}]}}))
    cifar = table_module.recipes_table(str(tmp_path), dataset="cifar10_test.npz", docs="docs/recipes/cifar")
    assert "| [demo](docs/recipes/cifar/demo.md) |" in cifar
    assert table_module.latest_runs(str(tmp_path), "nothing.npz") == {}
