"""recipes/bias_variance.py: error against degree, the picked degree."""

import json
import os

import pytest

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


def test_on_images_capacity_is_the_cnns_width(run_in):
    bias_variance.main(["--model", "cnn", "--widths", "1,4", "--epochs", "2", "--seeds", "2",
                        "--model-dir", "out"])
    saved = json.load(open("out/metrics.json"))
    results = saved["results"]
    assert [r["width"] for r in results["rows"]] == [1, 4] and results["picked_width"] in (1, 4)
    for row in results["rows"]:  # the gap column is the clean training accuracy minus the test accuracy
        for train, test, gap in zip(row["seeds"]["train_eval_accuracy"], row["seeds"]["test_accuracy"],
                                    row["seeds"]["generalization_gap"]):
            assert gap == pytest.approx(train - test)
    labels = [j["label"] for j in results["judgments"]]
    assert labels[0].endswith("(underfitting)") and labels[1] == "train − test gap, width 4 − width 1 (overfitting)"
    config = json.load(open("out/config.json"))
    assert config["epochs"] == 2 and config["learning_rate"] == 0.001 and config["model"] == "cnn"
    assert {"comparison.md", "u_curve.png", "confusion_matrix.png"} <= set(os.listdir("out"))


@pytest.mark.parametrize("argv, image, epochs, rate", [
    ([], False, 400, 0.05), (["--model", "cnn"], True, 20, 1e-3),
    (["--dataset", "some.npz"], True, 20, 1e-3), (["--model", "cnn", "--epochs", "3", "--learning-rate", "0.1"], True, 3, 0.1),
])
def test_defaults_follow_the_mode(argv, image, epochs, rate):
    from kerasext import runner

    args = runner.parse_args(bias_variance.build_parser(), argv)
    bias_variance.check_args(args)
    assert bias_variance.image_mode(args) is image and args.epochs == epochs and args.learning_rate == rate
