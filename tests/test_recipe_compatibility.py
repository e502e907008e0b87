"""recipes/compatibility.py: singles, pairs, the gain matrix and heatmap."""

import json
import os

import pytest

from recipes import compatibility


def test_smoke_matrix(run_in):
    compatibility.main(["--epochs", "1", "--seeds", "2", "--techniques", "dropout,one_cycle", "--model-dir", "out"])
    assert {"comparison.md", "matrix.png", "metrics.json", "model.keras"} <= set(os.listdir("out"))
    saved = json.load(open("out/metrics.json"))["results"]
    assert [r["variant"] for r in saved["rows"]] == ["baseline", "dropout", "one_cycle", "dropout + one_cycle"]
    accuracy = {r["variant"]: r["seeds"]["test_accuracy"] for r in saved["rows"]}
    pair = saved["rows"][3]["seeds"]["interaction"]  # per seed: the pair's gain minus its parts' gains
    assert pair == pytest.approx([accuracy["dropout + one_cycle"][i] - accuracy["dropout"][i]
                                  - accuracy["one_cycle"][i] + accuracy["baseline"][i] for i in range(2)])
    matrix = saved["gain_matrix"]
    assert len(matrix) == 2 and matrix[0][1] == matrix[1][0] == pytest.approx(saved["rows"][3]["gain"])
    assert len(saved["judgments"]) == 2 and "Gain matrix" in open("out/comparison.md").read()
