"""recipes/batch_norm.py: with/without BN across learning rates, bad flags."""

import json
import os

import pytest
from conftest import load_recipe

from kerasext import runner

batch_norm = load_recipe("batch_norm")


def test_smoke_with_and_without(run_in):
    batch_norm.main(["--epochs", "1", "--depth", "3", "--width", "16", "--learning-rates", "0.01,0.1",
                     "--target", "0.2", "--model-dir", "out"])
    saved = json.load(open("out/metrics.json"))["results"]
    assert [(r["network"], r["learning_rate"]) for r in saved["rows"]] == [
        ("without BN", 0.01), ("without BN", 0.1), ("with BN", 0.01), ("with BN", 0.1)]
    assert "speedup" in saved and "| with BN, lr 0.1 |" in open("out/comparison.md").read()
    assert os.path.isfile("out/variants.png")


@pytest.mark.parametrize("argv, message", [(["--learning-rates", "0.1,x"], "`--learning-rates` must be"),
                                           (["--target", "0"], "`--target` must be in (0, 1]")])
def test_bad_flags_exit_2_with_one_line(run_in, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        runner.run_cli(batch_norm.main, argv + ["--model-dir", "bad"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(lines) == 1 and message in lines[0]
    assert not os.path.exists("bad")
