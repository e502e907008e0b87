"""recipes/super_convergence.py: LR finder, schedules table, bad flags."""

import json
import os

import pytest
from conftest import load_recipe

from kerasext import runner

super_convergence = load_recipe("super_convergence")


def test_smoke_runs_finder_and_schedules(run_in):
    super_convergence.main(["--epochs", "1", "--finder-steps", "10", "--target", "0.5", "--model-dir", "out"])
    assert {"comparison.md", "variants.png", "lr_finder.png", "metrics.json", "model.keras"} <= set(os.listdir("out"))
    saved = json.load(open("out/metrics.json"))["results"]
    assert len(saved["rows"]) == 7 and saved["rows"][-1]["variant"].startswith("one-cycle")
    assert saved["lr_finder"]["used"] > 0 and "epochs_to_target" in saved["rows"][0]
    assert "| one-cycle" in open("out/comparison.md").read()


@pytest.mark.parametrize(
    "argv, message",
    [(["--target", "1.5"], "`--target` must be in (0, 1]"), (["--finder-steps", "1"], "`--finder-steps` must be >= 2")],
)
def test_bad_flags_exit_2_with_one_line(run_in, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        runner.run_cli(super_convergence.main, argv + ["--model-dir", "bad"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(lines) == 1 and message in lines[0]
    assert not os.path.exists("bad")
