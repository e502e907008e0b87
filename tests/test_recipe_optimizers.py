"""recipes/optimizers.py: six optimizers from the same weights."""

import json
import os

from recipes import optimizers


def test_smoke_six_optimizers(run_in):
    optimizers.main(["--epochs", "1", "--target", "0.3", "--model-dir", "out"])
    assert {"comparison.md", "variants.png", "metrics.json", "model.keras"} <= set(os.listdir("out"))
    rows = json.load(open("out/metrics.json"))["results"]["rows"]
    assert [r["variant"].split()[0] for r in rows] == ["SGD", "SGD", "SGD", "RMSprop", "Adam", "AdamW"]
    assert "| Adam 0.001 |" in open("out/comparison.md").read()
