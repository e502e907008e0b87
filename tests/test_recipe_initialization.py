"""recipes/initialization.py: step-0 statistics and accuracy per (activation, initializer)."""

import json
import os

from recipes import initialization


def test_smoke_records_layer_stats(run_in):
    initialization.main(["--epochs", "1", "--depth", "3", "--width", "8", "--seeds", "1", "--model-dir", "out"])
    assert {"comparison.md", "layer_stats.png", "variants.png", "metrics.json"} <= set(os.listdir("out"))
    rows = json.load(open("out/metrics.json"))["results"]["rows"]
    assert len(rows) == 8 and all(len(r["activation_std"]) == 3 == len(r["gradient_std"]) for r in rows)
    picks = {r["variant"] for r in rows if r["pick"]}
    assert picks == {"tanh / Glorot", "relu / He"}
    zeros = next(r for r in rows if r["variant"] == "relu / zeros")
    assert zeros["first_activation_std"] == 0.0
    results = json.load(open("out/metrics.json"))["results"]  # one seed: every verdict is inconclusive
    assert [j["verdict"] for j in results["judgments"]] == ["inconclusive"] * 2 and results["seeds"] == [0]
    assert "One seed (0)" in open("out/comparison.md").read()
