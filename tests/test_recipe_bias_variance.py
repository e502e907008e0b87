"""recipes/bias_variance.py: error against degree, the picked degree, bad flags."""

import json
import os

import pytest
from conftest import load_recipe

from kerasext import runner

bias_variance = load_recipe("bias_variance")


def test_smoke_u_curve(run_in):
    bias_variance.main(["--epochs", "20", "--max-degree", "4", "--model-dir", "out"])
    assert {"comparison.md", "u_curve.png", "metrics.json", "model.keras"} <= set(os.listdir("out"))
    saved = json.load(open("out/metrics.json"))["results"]
    assert [r["degree"] for r in saved["rows"]] == [1, 2, 3, 4]
    assert 1 <= saved["picked_degree"] <= 4 and 1 <= saved["least_squares_degree"] <= 4
    exact = [r["exact_train_mse"] for r in saved["rows"]]
    assert exact == sorted(exact, reverse=True)  # least squares: more degrees never fit worse


@pytest.mark.parametrize(
    "argv, message",
    [(["--noise", "-1"], "`--noise` must be >= 0"), (["--dataset", "cifar10"], "generates its own 1-D data")],
)
def test_bad_flags_exit_2_with_one_line(run_in, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        runner.run_cli(bias_variance.main, argv + ["--model-dir", "bad"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(lines) == 1 and message in lines[0]
    assert not os.path.exists("bad")
