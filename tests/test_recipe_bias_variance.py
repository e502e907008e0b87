"""recipes/bias_variance.py: error against degree, the picked degree."""

import json
import os

from recipes import bias_variance


def test_smoke_u_curve(run_in):
    bias_variance.main(["--epochs", "20", "--max-degree", "4", "--model-dir", "out"])
    assert {"comparison.md", "u_curve.png", "metrics.json", "model.keras"} <= set(os.listdir("out"))
    saved = json.load(open("out/metrics.json"))["results"]
    assert [r["degree"] for r in saved["rows"]] == [1, 2, 3, 4]
    assert 1 <= saved["picked_degree"] <= 4 and 1 <= saved["least_squares_degree"] <= 4
    exact = [r["exact_train_mse"] for r in saved["rows"]]
    assert exact == sorted(exact, reverse=True)  # least squares: more degrees never fit worse
