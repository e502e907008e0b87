"""recipes/losses.py: imbalanced classification and regression-with-outliers tables."""

import json
import os

import pytest
from conftest import load_recipe

from kerasext import runner

losses = load_recipe("losses")


def test_smoke_both_tables(run_in):
    losses.main(["--epochs", "1", "--regression-epochs", "5", "--model-dir", "out"])
    saved = json.load(open("out/metrics.json"))["results"]
    assert [r["variant"] for r in saved["rows"]][0] == "cross-entropy" and len(saved["rows"]) == 4
    assert all(len(r["per_class_recall"]) == 10 for r in saved["rows"])
    assert saved["train_class_counts"][1] < saved["train_class_counts"][0] / 10
    assert [r["variant"] for r in saved["regression"]["rows"]][:2] == ["MSE", "Huber (delta 1)"]
    text = open("out/comparison.md").read()
    assert "| cross-entropy + class weights |" in text and "| MSE |" in text


@pytest.mark.parametrize(
    "argv, message",
    [(["--minority-classes", "a,b"], "`--minority-classes` must be"),
     (["--minority-classes", "12"], "`--minority-classes` must lie in [0, 10)"),
     (["--keep-fraction", "0"], "`--keep-fraction` must be in (0, 1]")],
)
def test_bad_flags_exit_2_with_one_line(run_in, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        runner.run_cli(losses.main, argv + ["--model-dir", "bad"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(lines) == 1 and message in lines[0]
    assert not os.path.exists("bad")
