"""recipes/augmentation.py: with/without table, preview grid, bad flags."""

import json
import os

import pytest
from conftest import load_recipe

from kerasext import runner

augmentation = load_recipe("augmentation")


def test_smoke_writes_comparison_and_preview(run_in, capsys):
    metrics = augmentation.main(["--epochs", "1", "--augment", "cutout,mixup", "--model-dir", "out"])
    files = set(os.listdir("out"))
    assert {"comparison.md", "preview.png", "preview_cutout.png", "variants.png", "metrics.json",
            "model.keras", "config.json", "curves.png"} <= files
    saved = json.load(open("out/metrics.json"))
    rows = saved["results"]["rows"]
    assert [r["variant"] for r in rows] == ["none", "cutout", "mixup"] == [
        r["variant"] for r in metrics["results"]["rows"]]
    assert all(0 <= r["test_accuracy"] <= 1 and "generalization_gap" in r for r in rows)
    assert saved["results"]["claim_holds"] in (True, False)
    table = open("out/comparison.md").read()
    assert "| none |" in table and "| mixup |" in table and "guide's claim" in table
    out = capsys.readouterr().out
    assert "test accuracy: " in out and "| cutout |" in out


@pytest.mark.parametrize(
    "argv, message",
    [(["--augment", "blur"], "`--augment` takes"), (["--cutout-size", "0"], "`--cutout-size` must be > 0")],
)
def test_bad_flags_exit_2_with_one_line(run_in, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        runner.run_cli(augmentation.main, argv + ["--model-dir", "bad"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(lines) == 1 and message in lines[0]
    assert not os.path.exists("bad")
