"""recipes/regularization.py: every variant trained, verdicts recorded."""

import json
import os

from recipes import regularization


def test_smoke_records_each_variant_and_verdict(run_in):
    regularization.main(["--epochs", "1", "--width", "16", "--model-dir", "out"])
    assert {"comparison.md", "variants.png", "metrics.json", "model.keras", "curves.png"} <= set(os.listdir("out"))
    rows = json.load(open("out/metrics.json"))["results"]["rows"]
    assert [r["variant"] for r in rows][:3] == ["none", "L1 0.0001", "L2 0.001"] and len(rows) == 8
    assert all(r["verdict"] in ("healthy", "overfitting", "underfitting") for r in rows)
    text = open("out/comparison.md").read()
    assert "| batch norm |" in text and "guide's claim" in text
