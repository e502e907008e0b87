"""recipes/compatibility.py: singles, pairs, the gain matrix and heatmap."""

import json
import os

from recipes import compatibility


def test_smoke_matrix(run_in):
    compatibility.main(["--epochs", "1", "--techniques", "dropout,mixup,one_cycle", "--model-dir", "out"])
    assert {"comparison.md", "matrix.png", "metrics.json", "model.keras"} <= set(os.listdir("out"))
    saved = json.load(open("out/metrics.json"))["results"]
    assert [r["variant"] for r in saved["rows"]] == [
        "baseline", "dropout", "mixup", "one_cycle", "dropout + mixup", "dropout + one_cycle", "mixup + one_cycle"]
    matrix = saved["gain_matrix"]
    assert len(matrix) == 3 and matrix[0][1] == matrix[1][0]
    assert "Gain matrix" in open("out/comparison.md").read()
