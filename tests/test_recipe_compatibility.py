"""recipes/compatibility.py: singles, pairs, the gain matrix and heatmap, bad flags."""

import json
import os

import pytest
from conftest import load_recipe

from kerasext import runner

compatibility = load_recipe("compatibility")


def test_smoke_matrix(run_in):
    compatibility.main(["--epochs", "1", "--techniques", "dropout,mixup,one_cycle", "--model-dir", "out"])
    assert {"comparison.md", "matrix.png", "metrics.json", "model.keras"} <= set(os.listdir("out"))
    saved = json.load(open("out/metrics.json"))["results"]
    assert [r["variant"] for r in saved["rows"]] == [
        "baseline", "dropout", "mixup", "one_cycle", "dropout + mixup", "dropout + one_cycle", "mixup + one_cycle"]
    matrix = saved["gain_matrix"]
    assert len(matrix) == 3 and matrix[0][1] == matrix[1][0]
    assert "Gain matrix" in open("out/comparison.md").read()


@pytest.mark.parametrize("argv, message", [(["--techniques", "dropout"], "`--techniques` takes two or more"),
                                           (["--techniques", "dropout,magic"], "`--techniques` takes two or more")])
def test_bad_flags_exit_2_with_one_line(run_in, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        runner.run_cli(compatibility.main, argv + ["--model-dir", "bad"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(lines) == 1 and message in lines[0]
    assert not os.path.exists("bad")
