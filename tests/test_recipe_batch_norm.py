"""recipes/batch_norm.py: with/without BN across learning rates."""

import json
import os

from recipes import batch_norm


def test_smoke_with_and_without(run_in):
    batch_norm.main(["--epochs", "2", "--seeds", "2", "--depth", "3", "--width", "16", "--learning-rates", "0.1",
                     "--target", "0.2", "--model-dir", "out"])
    saved = json.load(open("out/metrics.json"))["results"]
    assert [(r["network"], r["learning_rate"]) for r in saved["rows"]] == [("without BN", 0.1), ("with BN", 0.1)]
    steps = [e * 23 if e else None for e in saved["rows"][1]["seeds"]["epochs_to_target"]]  # 23 steps an epoch
    assert saved["rows"][1]["seeds"]["steps_to_target"] == steps
    speedup, highest = saved["judgments"]  # the 14x claim on the log scale; the highest rate tolerated
    assert speedup["ratio"] and speedup["claimed"] == 14.0 and saved["speedup"] == speedup["effect"]
    assert highest["label"].startswith("highest learning rate")
    assert "| with BN, lr 0.1 |" in open("out/comparison.md").read()
    assert os.path.isfile("out/variants.png")
