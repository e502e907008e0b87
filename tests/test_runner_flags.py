"""The runner's shared flags: never abbreviated, one-line errors."""

import pytest

from kerasext import runner  # first: TensorFlow's quiet start


def test_a_flag_is_never_taken_for_its_prefix(capsys):
    with pytest.raises(SystemExit) as exit_:
        runner.parse_args(runner.make_parser("demo"), ["--model-d", "out"])
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "unrecognized arguments: --model-d out" in lines[0], lines


def test_fold_only_where_the_recipe_asks_for_it(tmp_path):
    assert "--fold" not in runner.make_parser("demo")._option_string_actions
    args = runner.parse_args(runner.make_parser("demo", kfold=True), ["--fold", "02/5"])
    assert args.fold == "2/5"  # recorded so in config.json, and read back by --config:
    config = tmp_path / "config.json"
    config.write_text('{"fold": "3/5"}')
    args = runner.parse_args(runner.make_parser("demo", kfold=True), ["--config", str(config)])
    assert args.fold == "3/5"
