"""recipes/optimizers.py: six optimizers from the same weights."""

import json
import os

from recipes import optimizers


def test_smoke_six_optimizers(run_in):
    optimizers.main(["--epochs", "1", "--seeds", "2", "--target", "0.3", "--model-dir", "out"])
    assert {"comparison.md", "variants.png", "metrics.json", "model.keras"} <= set(os.listdir("out"))
    results = json.load(open("out/metrics.json"))["results"]
    rows = results["rows"]
    assert [r["variant"].split()[0] for r in rows] == ["SGD", "SGD", "SGD", "RMSprop", "Adam", "AdamW"]
    named = ["Adam 0.001 − SGD 0.01, epochs to target", "Adam 0.001 − SGD 0.01, seconds to target",
             "(SGD 0.01, Nesterov 0.9) − (SGD 0.01, momentum 0.9), epochs to target",
             "(AdamW 0.001, decay 0.01) − Adam 0.001, test accuracy"]  # each comparison named exactly
    assert len(results["judgments"]) == 4
    assert all(j["label"].startswith(n) for j, n in zip(results["judgments"], named))
    assert "| Adam 0.001 |" in open("out/comparison.md").read()
