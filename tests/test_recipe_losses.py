"""recipes/losses.py: two claims judged apart, the cut classes' recall on every held-out example
of them, and the minimum detectable effect against independent computations."""

import json
import math
import statistics

import numpy as np
import pytest
from scipy import stats
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from kerasext import runner  # first: TensorFlow's quiet start
from recipes import losses

Z = statistics.NormalDist().inv_cdf(0.975) + statistics.NormalDist().inv_cdf(0.8)  # not SciPy: independent


@pytest.mark.parametrize("p, n", [(0.5, 90), (0.7, 775), (0.9, 2325), (0.0, 10)])
def test_detectable_difference_is_the_two_proportion_formula(p, n):
    expected = Z * math.sqrt(2 * p * (1 - p) / n)
    assert losses.detectable_difference(p, n) == pytest.approx(expected, rel=1e-9)
    assert losses.detectable_difference(p, n) == pytest.approx(2.8 * math.sqrt(2 * p * (1 - p) / n), rel=1e-3)
    with pytest.raises(ValueError, match="Received: p=1.5"):
        losses.detectable_difference(1.5, n)


def test_cut_class_examples_are_every_rare_example_no_model_trains_on(unique_npz):
    from conftest import decode_index

    args = runner.parse_args(losses.build_parser(), ["--dataset", unique_npz(100, 4), "--minority-classes", "1,3"])
    x, y = losses.cut_class_examples(args, 4)
    trained = decode_index(losses.imbalanced_arrays(args, 4)[0])
    held = decode_index(x)
    labels = np.repeat(np.arange(4), 100)  # the fixture's classes, by example index
    assert set(np.unique(y)) == {1, 3} and np.array_equal(labels[held], y)
    assert not set(held) & set(trained)  # never trained on
    assert len(set(held)) == len(held)
    # Independently: 80 of each class's 100 go to training (0.8, 0.1, 0.1), 4 of those are kept
    # (round(80 * 0.05)), 10 are in the test split: 76 + 10 held out per cut class.
    assert np.bincount(labels[trained], minlength=4).tolist() == [80, 4, 80, 4]
    assert len(held) == 2 * (76 + 10)


def _table(name, rows, metric, seeds):
    table = runner.Comparison(name, [(metric, metric)], seeds=seeds)
    for variant, values in rows.items():
        table.add_seeds(variant, [{metric: v} for v in values])
    return table


def test_two_claims_two_verdicts_no_and():
    seeds = [0, 1, 2]
    classes = _table("classes", {"cross-entropy": [0.70, 0.62, 0.66], "class weights": [0.7, 0.7, 0.7],
                                 "focal (gamma 2)": [0.66, 0.66, 0.67]}, "minority_recall", seeds)
    lines = _table("lines", {"MSE": [2.5, 2.7, 2.6], "Huber (delta 1)": [0.14, 0.15, 0.13]}, "test_mae", seeds)
    verdicts = losses.judge(classes, lines)
    # focal − cross-entropy: -0.04, +0.04, +0.01 is inside the noise; Huber − MSE: -2.36, -2.55, -2.47 is not
    assert verdicts == {"focal loss vs cross-entropy": "inconclusive", "Huber vs MSE": "agrees"}
    assert classes.verdict == "inconclusive" and lines.verdict == "agrees"  # one claim per table
    recorded = losses.record(classes, lines, verdicts, {}, [])
    assert recorded["verdicts"] == verdicts and len(recorded["judgments"]) == 2
    assert "agrees" in recorded["verdict"] and "inconclusive" in recorded["verdict"]


def test_smoke_two_tables_recall_on_held_out_examples_and_detectable_effect(run_in):
    losses.main(["--epochs", "1", "--regression-epochs", "5", "--seeds", "2", "--model-dir", "out"])
    saved = json.load(open("out/metrics.json"))["results"]
    rows = {r["variant"]: r for r in saved["rows"]}
    assert list(rows)[0] == "cross-entropy" and len(rows) == 4
    assert all(len(r["per_class_recall"]) == 10 and len(r["seeds"]["minority_recall"]) == 2 for r in rows.values())
    assert saved["train_class_counts"][1] < saved["train_class_counts"][0] / 10
    assert [r["variant"] for r in saved["regression"]["rows"]][:2] == ["MSE", "Huber (delta 1)"]

    # The recall of the cut classes is correct / examples, on every held-out example of them:
    # per seed, each cut class's examples minus its validation examples and the kept ones.
    y, cut = load_digits().target, (1, 3, 5, 7, 9)
    test_counts = []
    for i, seed in enumerate((0, 1)):
        rest, test = train_test_split(np.arange(len(y)), test_size=0.1, stratify=y, random_state=seed)
        train, _ = train_test_split(rest, test_size=0.1 / (0.8 + 0.1), stratify=y[rest], random_state=seed)
        expected = sum(np.sum(y[test] == c) + np.sum(y[train] == c) - max(1, round(np.sum(y[train] == c) * 0.05))
                       for c in cut)
        test_counts.append(int(np.isin(y[test], cut).sum()))
        for row in rows.values():
            seeded = row["seeds"]
            assert seeded["minority_examples"][i] == expected > 700
            assert seeded["minority_recall"][i] == pytest.approx(seeded["minority_correct"][i] / expected)

    # Two claims, two judgments, each in its own table with its own verdict.
    labels = [j["label"] for j in saved["judgments"]]
    assert labels == ["focal (gamma 2) − cross-entropy, recall, cut classes",
                      "Huber (delta 1) − MSE, clean test MAE of the line"]
    assert saved["verdicts"] == {"focal loss vs cross-entropy": saved["judgments"][0]["verdict"],
                                 "Huber vs MSE": saved["regression"]["verdict"]}
    assert [j["label"] for j in saved["regression"]["judgments"]] == labels[1:]

    # The focal judgment against an independent paired t interval and minimum detectable effect.
    focal, ce = (np.array(rows[name]["seeds"]["minority_recall"]) for name in ("focal (gamma 2)", "cross-entropy"))
    diff = focal - ce
    judgment = saved["judgments"][0]
    assert judgment["effect"]["mean"] == pytest.approx(diff.mean())
    sd = diff.std(ddof=1)
    if sd > 0:
        half = stats.t.ppf(0.975, 1) * sd / math.sqrt(2)
        assert judgment["effect"]["high"] == pytest.approx(diff.mean() + half)
        includes_zero = diff.mean() - half <= 0 <= diff.mean() + half
        assert (judgment["verdict"] == "inconclusive") == includes_zero
        seeds_mde = (stats.t.ppf(0.975, 1) + stats.t.ppf(0.8, 1)) * sd / math.sqrt(2)
        assert saved["minimum_detectable_effect"]["seeds"] == pytest.approx(seeds_mde)
    size = saved["minimum_detectable_effect"]
    p, n = ce.mean(), rows["cross-entropy"]["seeds"]["minority_examples"]
    assert size["recall"] == pytest.approx(p)
    assert size["per_seed"] == pytest.approx(Z * math.sqrt(2 * p * (1 - p) / n[0]))
    assert size["all_seeds"] == pytest.approx(Z * math.sqrt(2 * p * (1 - p) / sum(n)))
    assert size["test_split_only_examples"] == test_counts[0]  # about 90 of the test split's 180 digits
    assert size["test_split_only"] == pytest.approx(Z * math.sqrt(2 * p * (1 - p) / test_counts[0]))

    text = open("out/comparison.md").read()
    assert "| cross-entropy + class weights |" in text and "| MSE |" in text
    assert text.count("Verdict: **") == 2 and "Minimum detectable effect" in text
    assert f"{size['per_seed']:.4f}" in text
    seeds_limit = size["seeds"] is not None and size["seeds"] > size["per_seed"]
    assert ("The seeds, not the test set, limit" in text) == seeds_limit
