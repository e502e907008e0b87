"""recipes/cross_validation.py: k folds, mean ± std, single splits."""

import json

import pytest

from recipes import cross_validation


def test_smoke_folds_and_single_splits(run_in):
    cross_validation.main(["--epochs", "1", "--folds", "2", "--seeds", "2", "--model-dir", "out"])
    saved = json.load(open("out/metrics.json"))["results"]
    rows = {r["variant"]: r for r in saved["rows"]}
    assert list(rows) == ["fold 1", "fold 2", "2-fold estimate", "single split"]
    for i in range(2):  # per seed: the mean over the folds, and its error against the test split
        val = (rows["fold 1"]["seeds"]["val_accuracy"][i] + rows["fold 2"]["seeds"]["val_accuracy"][i]) / 2
        test = (rows["fold 1"]["seeds"]["test_accuracy"][i] + rows["fold 2"]["seeds"]["test_accuracy"][i]) / 2
        assert rows["2-fold estimate"]["seeds"]["estimate_error"][i] == pytest.approx(abs(val - test))
    assert rows["fold 1"]["val_examples"] + rows["fold 1"]["train_examples"] == 1617  # train + validation
    assert 0 <= saved["kfold_mean"] <= 1 and saved["kfold_std"] >= 0
    label = "estimate error (absolute, against test accuracy), 2-fold estimate − single split"
    assert saved["judgments"][0]["label"] == label
    assert "2-fold estimate" in open("out/comparison.md").read()
