"""recipes/bias_variance.py: error against degree, the picked degree."""

import json
import os

from recipes import bias_variance


def test_smoke_u_curve(run_in):
    bias_variance.main(["--epochs", "20", "--max-degree", "4", "--seeds", "2", "--model-dir", "out"])
    assert {"comparison.md", "u_curve.png", "metrics.json", "model.keras"} <= set(os.listdir("out"))
    saved = json.load(open("out/metrics.json"))["results"]
    assert [r["degree"] for r in saved["rows"]] == [1, 2, 3, 4]
    assert 1 <= saved["picked_degree"] <= 4 and 1 <= saved["least_squares_degree"] <= 4
    for seed in range(2):  # each seed another sample: least squares with more degrees never fits worse
        exact = [r["seeds"]["exact_train_mse"][seed] for r in saved["rows"]]
        assert exact == sorted(exact, reverse=True)
    assert saved["rows"][0]["seeds"]["exact_train_mse"][0] != saved["rows"][0]["seeds"]["exact_train_mse"][1]
    assert [j["label"].split(",")[0] for j in saved["judgments"]] == ["validation MSE", "least-squares validation MSE"]
