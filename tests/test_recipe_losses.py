"""recipes/losses.py: imbalanced classification and regression-with-outliers tables."""

import json

from recipes import losses


def test_smoke_both_tables(run_in):
    losses.main(["--epochs", "1", "--regression-epochs", "5", "--model-dir", "out"])
    saved = json.load(open("out/metrics.json"))["results"]
    assert [r["variant"] for r in saved["rows"]][0] == "cross-entropy" and len(saved["rows"]) == 4
    assert all(len(r["per_class_recall"]) == 10 for r in saved["rows"])
    assert saved["train_class_counts"][1] < saved["train_class_counts"][0] / 10
    assert [r["variant"] for r in saved["regression"]["rows"]][:2] == ["MSE", "Huber (delta 1)"]
    text = open("out/comparison.md").read()
    assert "| cross-entropy + class weights |" in text and "| MSE |" in text
