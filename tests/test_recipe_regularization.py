"""recipes/regularization.py: every variant trained, verdicts recorded."""

import json
import os

from recipes import regularization


def test_smoke_records_each_variant_and_verdict(run_in):
    regularization.main(["--epochs", "1", "--width", "16", "--seeds", "2", "--model-dir", "out"])
    assert {"comparison.md", "variants.png", "metrics.json", "model.keras", "curves.png"} <= set(os.listdir("out"))
    results = json.load(open("out/metrics.json"))["results"]
    rows = results["rows"]
    assert [r["variant"] for r in rows][:3] == ["none", "L1 0.0001", "L2 0.001"] and len(rows) == 8
    assert all(v in ("healthy", "overfitting", "underfitting") for r in rows for v in r["seeds"]["verdict"])
    assert [j["treatment"] for j in results["judgments"]] == [
        "L1 0.0001", "L2 0.001", "dropout 0.5", "batch norm", "early stopping (8)"]
    text = open("out/comparison.md").read()
    assert "| batch norm |" in text and "Verdict: **" in text
