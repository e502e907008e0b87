"""recipes/batch_norm.py: with/without BN across learning rates."""

import json
import os

from recipes import batch_norm


def test_smoke_with_and_without(run_in):
    batch_norm.main(["--epochs", "1", "--depth", "3", "--width", "16", "--learning-rates", "0.01,0.1",
                     "--target", "0.2", "--model-dir", "out"])
    saved = json.load(open("out/metrics.json"))["results"]
    assert [(r["network"], r["learning_rate"]) for r in saved["rows"]] == [
        ("without BN", 0.01), ("without BN", 0.1), ("with BN", 0.01), ("with BN", 0.1)]
    assert "speedup" in saved and "| with BN, lr 0.1 |" in open("out/comparison.md").read()
    assert os.path.isfile("out/variants.png")
