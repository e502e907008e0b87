"""recipes/cross_validation.py: a k-fold and a single-split estimate, each against the truth of a
large held-out set, checked against independent recomputations from the recorded numbers."""

import json
import math

import numpy as np
import pytest
from scipy import stats

from kerasext import runner  # first: TensorFlow's quiet start
from recipes import cross_validation


def test_estimates_against_the_truth():
    rows = cross_validation.estimates([0.90, 0.80, 0.85, 0.95], [0.88, 0.86, 0.87, 0.90], truth=0.90)
    single, kfold = rows["single split"], rows["k-fold"]
    assert single["estimate"] == 0.90 and single["error"] == 0.0 and single["models_held_out"] == 0.88
    assert kfold["estimate"] == pytest.approx(0.875) and kfold["error"] == pytest.approx(-0.025)
    assert kfold["absolute_error"] == pytest.approx(0.025) and kfold["models_held_out"] == pytest.approx(0.8775)


@pytest.mark.parametrize("seed", [0, 3])
def test_split_holds_out_a_large_set_and_folds_partition_the_rest(unique_npz, seed):
    from conftest import decode_index

    path = unique_npz(100, 3)
    args = runner.parse_args(cross_validation.build_parser(), ["--dataset", path, "--seed", str(seed)])
    development, held_out, folds = cross_validation.split(args)
    assert len(held_out) == 225 and len(development) == 75  # 75% of 300 held out
    assert sorted([*development, *held_out]) == list(range(300))
    labels = np.repeat(np.arange(3), 100)
    assert np.bincount(labels[development]).tolist() == [25, 25, 25]  # stratified
    validations = np.concatenate([v for _, v in folds])
    assert sorted(validations) == sorted(development) and len(folds) == 5
    for train, validation in folds:
        assert sorted([*train, *validation]) == sorted(development) and not set(train) & set(validation)
    # The datasets hold exactly those examples (the test split: the held-out set).
    train, validation, test, _ = cross_validation.fold_data(args, fold=0)
    seen = {name: sorted(decode_index(np.concatenate([x for x, _ in ds.as_numpy_iterator()])))
            for name, ds in (("train", train), ("validation", validation), ("test", test))}
    assert seen == {"train": sorted(folds[0][0]), "validation": sorted(folds[0][1]), "test": sorted(held_out)}
    assert cross_validation.fold_data(args)[1] is None  # all development data: no validation


def test_smoke_errors_against_the_held_out_truth(run_in):
    cross_validation.main(["--epochs", "1", "--folds", "2", "--seeds", "2", "--model-dir", "out"])
    metrics = json.load(open("out/metrics.json"))
    saved = metrics["results"]
    rows = {r["variant"]: r for r in saved["rows"]}
    assert list(rows) == ["single split", "2-fold cross-validation"]
    assert saved["held_out_examples"] == 1348 and saved["development_examples"] == 449  # 75% of 1797 held out
    folds = saved["folds"]
    for i in range(2):  # per seed, from the recorded fold and truth numbers
        truth = folds["all development data"]["test_accuracy"][i]
        accuracies = [folds[f"fold {k}"]["val_accuracy"][i] for k in (1, 2)]
        sizes = saved["validation_examples"][i]
        assert sum(sizes) == 449
        for accuracy, size in zip(accuracies, sizes):  # an accuracy is a count over the fold's examples
            assert accuracy * size == pytest.approx(round(accuracy * size), abs=1e-3)
        expected = {"single split": accuracies[0], "2-fold cross-validation": sum(accuracies) / 2}
        for name, estimate in expected.items():
            seeded = rows[name]["seeds"]
            assert seeded["truth"][i] == truth
            assert seeded["estimate"][i] == pytest.approx(estimate)
            assert seeded["absolute_error"][i] == pytest.approx(abs(estimate - truth))
    # The run's model is the first seed's truth model: its held-out accuracy, evaluated again.
    assert metrics["test"]["accuracy"] == pytest.approx(folds["all development data"]["test_accuracy"][0], abs=1e-6)
    assert metrics["dataset"]["split_sizes"]["test"] == 1348

    # The judgment: paired k-fold − single split absolute error, against an independent t interval.
    kfold, single = (np.array(rows[name]["seeds"]["absolute_error"]) for name in ("2-fold cross-validation",
                                                                                   "single split"))
    diff = kfold - single
    judgment = saved["judgments"][0]
    assert judgment["label"] == "absolute error of the estimate, 2-fold cross-validation − single split"
    assert judgment["effect"]["mean"] == pytest.approx(diff.mean()) and judgment["direction"] == -1
    if diff.std(ddof=1) > 0:
        half = stats.t.ppf(0.975, 1) * diff.std(ddof=1) / math.sqrt(2)
        low, high = diff.mean() - half, diff.mean() + half
        assert (judgment["effect"]["low"], judgment["effect"]["high"]) == (pytest.approx(low), pytest.approx(high))
        assert judgment["verdict"] == ("inconclusive" if low <= 0 <= high else "agrees" if high < 0 else "disagrees")
    text = open("out/comparison.md").read()
    errors = np.array(rows["2-fold cross-validation"]["seeds"]["error"])  # the bias note, recomputed
    half = stats.t.ppf(0.975, 1) * errors.std(ddof=1) / math.sqrt(2)
    assert f"2-fold cross-validation {errors.mean():+.4f} ± {half:.4f}" in text
