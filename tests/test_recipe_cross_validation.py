"""recipes/cross_validation.py: k folds, mean ± std, single splits."""

import json

from recipes import cross_validation


def test_smoke_folds_and_single_splits(run_in):
    cross_validation.main(["--epochs", "1", "--folds", "2", "--model-dir", "out"])
    saved = json.load(open("out/metrics.json"))["results"]
    names = [r["variant"] for r in saved["rows"]]
    assert names[:2] == ["fold 1", "fold 2"] and names[2].startswith("**2-fold mean ± std")
    assert names[3:] == ["single split, seed 0", "single split, seed 1"]
    assert 0 <= saved["kfold_mean"] <= 1 and saved["kfold_std"] >= 0
    assert "2-fold mean" in open("out/comparison.md").read()
