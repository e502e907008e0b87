"""`--fold I/K`: the runner passes a fold to `kerasext.data.load`, explicitly (no monkeypatch)."""

import numpy as np
import pytest
from conftest import load_recipe

from kerasext import runner  # first: TensorFlow's quiet start
from kerasext import data

losses = load_recipe("losses")


def parser():
    return runner.make_parser("demo", kfold=True)


def main(argv):
    runner.load_data(runner.parse_args(parser(), argv))


def test_folds_partition_train_and_validation_and_keep_the_test_split():
    _, _, test, info = runner.load_data(runner.parse_args(parser(), []))
    arrays = data.load_arrays("digits")
    seen = []
    for index in (1, 2, 3):
        args = runner.parse_args(parser(), ["--fold", f"{index}/3"])
        fold_train, fold_val, fold_test, fold_info = runner.load_data(args)
        assert fold_info.name == f"{info.name} (fold {index} of 3)"
        labels = np.concatenate([y for _, y in fold_val])
        seen.append(len(labels))
        assert fold_info.split_sizes["test"] == info.split_sizes["test"]
        for (a, b), (c, d) in zip(fold_test, test):  # the same held-out test examples
            assert np.array_equal(a, c) and np.array_equal(b, d)
        assert fold_info.split_sizes["train"] + fold_info.split_sizes["validation"] == (
            info.split_sizes["train"] + info.split_sizes["validation"])
    assert sum(seen) == len(arrays.y) - info.split_sizes["test"]  # every pool example validated once


def test_fold_is_data_loads_fold_one_based_in_the_flag():
    args = runner.parse_args(parser(), ["--fold", "2/3", "--batch-size", "1000"])
    assert args.fold == "2/3"
    (_, y), = runner.load_data(args).validation
    (_, expected), = data.load("digits", batch_size=1000, fold=(1, 3)).validation
    assert np.array_equal(y, expected)


@pytest.mark.parametrize("argv, message", [
    (["--fold", "0/5"], "argument --fold: needs K >= 2 and 1 <= I <= K. Received: '0/5'"),
    (["--fold", "6/5"], "argument --fold: needs K >= 2 and 1 <= I <= K. Received: '6/5'"),
    (["--fold", "1/1"], "argument --fold: needs K >= 2"),
    (["--fold", "2"], "argument --fold: must be I/K like 2/5"),
    (["--fold", "a/b"], "argument --fold: must be I/K like 2/5"),
    (["--fold", "1/500"], "`--fold` 1/500: `fold` must have 2 <= k <="),
])
def test_bad_fold_is_one_line_naming_fold(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        runner.run_cli(main, argv)
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines


def test_a_recipe_that_loads_its_own_data_has_no_fold(run_in, capsys):
    with pytest.raises(SystemExit) as exit_:
        runner.run_cli(losses.main, ["--fold", "1/2"])
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "unrecognized arguments: --fold 1/2" in lines[0], lines
    assert not (run_in / "runs").exists()
