"""recipes/optimizers.py: six optimizers from the same weights, bad flags."""

import json
import os

import pytest
from conftest import load_recipe

from kerasext import runner

optimizers = load_recipe("optimizers")


def test_smoke_six_optimizers(run_in):
    optimizers.main(["--epochs", "1", "--target", "0.3", "--model-dir", "out"])
    assert {"comparison.md", "variants.png", "metrics.json", "model.keras"} <= set(os.listdir("out"))
    rows = json.load(open("out/metrics.json"))["results"]["rows"]
    assert [r["variant"].split()[0] for r in rows] == ["SGD", "SGD", "SGD", "RMSprop", "Adam", "AdamW"]
    assert "| Adam 0.001 |" in open("out/comparison.md").read()


@pytest.mark.parametrize(
    "argv, message",
    [(["--sgd-lr", "0"], "`--sgd-lr` must be > 0"), (["--momentum", "1"], "`--momentum` must be in [0, 1)")],
)
def test_bad_flags_exit_2_with_one_line(run_in, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        runner.run_cli(optimizers.main, argv + ["--model-dir", "bad"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(lines) == 1 and message in lines[0]
    assert not os.path.exists("bad")
