"""recipes/initialization.py: step-0 statistics and accuracy per (activation, initializer)."""

import json
import os

import pytest
from conftest import load_recipe

from kerasext import runner

initialization = load_recipe("initialization")


def test_smoke_records_layer_stats(run_in):
    initialization.main(["--epochs", "1", "--depth", "3", "--width", "8", "--model-dir", "out"])
    assert {"comparison.md", "layer_stats.png", "variants.png", "metrics.json"} <= set(os.listdir("out"))
    rows = json.load(open("out/metrics.json"))["results"]["rows"]
    assert len(rows) == 8 and all(len(r["activation_std"]) == 3 == len(r["gradient_std"]) for r in rows)
    picks = {r["variant"] for r in rows if r["pick"]}
    assert picks == {"tanh / Glorot", "relu / He"}
    zeros = next(r for r in rows if r["variant"] == "relu / zeros")
    assert zeros["first_activation_std"] == 0.0


@pytest.mark.parametrize(
    "argv, message",
    [(["--depth", "1"], "`--depth` must be >= 2"), (["--learning-rate", "0"], "`--learning-rate` must be > 0")],
)
def test_bad_flags_exit_2_with_one_line(run_in, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        runner.run_cli(initialization.main, argv + ["--model-dir", "bad"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(lines) == 1 and message in lines[0]
    assert not os.path.exists("bad")
