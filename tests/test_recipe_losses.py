"""recipes/losses.py: imbalanced classification and regression-with-outliers tables."""

import json

from recipes import losses


def test_smoke_both_tables(run_in):
    losses.main(["--epochs", "1", "--regression-epochs", "5", "--seeds", "2", "--model-dir", "out"])
    saved = json.load(open("out/metrics.json"))["results"]
    assert [r["variant"] for r in saved["rows"]][0] == "cross-entropy" and len(saved["rows"]) == 4
    assert all(len(r["per_class_recall"]) == 10 and len(r["seeds"]["minority_recall"]) == 2 for r in saved["rows"])
    assert saved["train_class_counts"][1] < saved["train_class_counts"][0] / 10
    assert [r["variant"] for r in saved["regression"]["rows"]][:2] == ["MSE", "Huber (delta 1)"]
    labels = [j["label"] for j in saved["judgments"]]  # two claims, judged apart
    assert labels == ["focal (gamma 2) − cross-entropy, recall, cut classes",
                      "Huber (delta 1) − MSE, clean test MAE of the line"]
    text = open("out/comparison.md").read()
    assert "| cross-entropy + class weights |" in text and "| MSE |" in text
