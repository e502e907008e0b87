"""recipes/regularization.py: every variant trained, verdicts recorded, bad flags."""

import json
import os

import pytest
from conftest import load_recipe

from kerasext import runner

regularization = load_recipe("regularization")


def test_smoke_records_each_variant_and_verdict(run_in):
    regularization.main(["--epochs", "1", "--width", "16", "--model-dir", "out"])
    assert {"comparison.md", "variants.png", "metrics.json", "model.keras", "curves.png"} <= set(os.listdir("out"))
    rows = json.load(open("out/metrics.json"))["results"]["rows"]
    assert [r["variant"] for r in rows][:3] == ["none", "L1 0.0001", "L2 0.001"] and len(rows) == 8
    assert all(r["verdict"] in ("healthy", "overfitting", "underfitting") for r in rows)
    text = open("out/comparison.md").read()
    assert "| batch norm |" in text and "guide's claim" in text


@pytest.mark.parametrize(
    "argv, message",
    [(["--dropout", "1"], "`--dropout` must be in (0, 1)"), (["--l2", "0"], "`--l2` must be > 0")],
)
def test_bad_flags_exit_2_with_one_line(run_in, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        runner.run_cli(regularization.main, argv + ["--model-dir", "bad"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(lines) == 1 and message in lines[0]
    assert not os.path.exists("bad")
