"""recipes/cross_validation.py: k folds, mean ± std, single splits, bad flags."""

import json
import os

import pytest
from conftest import load_recipe

from kerasext import runner

cross_validation = load_recipe("cross_validation")


def test_smoke_folds_and_single_splits(run_in):
    cross_validation.main(["--epochs", "1", "--folds", "2", "--model-dir", "out"])
    saved = json.load(open("out/metrics.json"))["results"]
    names = [r["variant"] for r in saved["rows"]]
    assert names[:2] == ["fold 1", "fold 2"] and names[2].startswith("**2-fold mean ± std")
    assert names[3:] == ["single split, seed 0", "single split, seed 1"]
    assert 0 <= saved["kfold_mean"] <= 1 and saved["kfold_std"] >= 0
    assert "2-fold mean" in open("out/comparison.md").read()


@pytest.mark.parametrize("argv, message", [(["--folds", "1"], "`--folds` must be >= 2"),
                                           (["--folds", "500"], "`k` must be an int from 2")])
def test_bad_flags_exit_2_with_one_line(run_in, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        runner.run_cli(cross_validation.main, argv + ["--model-dir", "bad"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(lines) == 1 and message in lines[0]
    assert not os.path.exists("bad")
