"""recipes/sweep.py on bad input: one line on stderr, exit code 2, nothing written, nothing lost."""

import csv
import json
import os

import pytest
from conftest import load_recipe

sweep = load_recipe("sweep")
SPACE = {"learning-rate": {"double": [1e-3, 1e-2], "scale": "log"}}


@pytest.fixture
def space(run_in):
    def write(content=SPACE):
        path = run_in / "space.json"
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        return str(path)

    return write


@pytest.mark.parametrize("argv, content, message", [
    (["--tuner", "annealing"], SPACE, "argument --tuner: invalid choice: 'annealing'"),
    (["--recipe", "nope"], SPACE, "`--recipe` must be one of"),
    (["--max-trials", "0"], SPACE, "argument --max-trials: must be an integer >= 1. Received: 0"),
    ([], "", "cannot read"),
    ([], "{not json", "cannot read"),
    ([], {}, "must hold a non-empty JSON object"),
    ([], {"lr": {"double": [0.1, 0.01]}}, "min < max"),
    ([], {"lr": {"double": [1e-3, 1e-2]}}, "'lr' names no flag of the recipe"),
    ([], {"model-dir": {"categorical": ["a", "b"]}}, "'model-dir' names no flag of the recipe"),
    ([], {"dropout": {"double": [0.5, 1.5]}}, "dropout=1.5: `--dropout` must be in [0, 1)"),
    ([], {"optimizer": {"categorical": ["adam", "lion"]}}, "optimizer='lion': recipes/train.py refuses"),
    (["--epochs", "1", "--learning-rate", "0.1"], SPACE, "flags both fixed and searched: --learning-rate"),
    (["--bogus", "1"], SPACE, "recipes/train.py refuses unrecognized arguments: --bogus"),
    (["--max-retries", "-1"], SPACE, "argument --max-retries: must be an integer >= 0. Received: -1"),
    (["--max-retries", "101"], SPACE, "argument --max-retries: must be an integer <= 100 (the limit for this flag). Received: 101"),
    (["--max-retries", "two"], SPACE, "argument --max-retries: must be an integer >= 0. Received: 'two'"),
    (["--cv", "1"], SPACE, "`--cv` must be >= 2. Received: --cv 1"),
    (["--cv", "1000"], SPACE, "`--cv` must be from 2 to the smallest class's count"),
    (["--recipe", "losses", "--cv", "2"], SPACE, "`--cv` needs a recipe whose data comes from kerasext.runner.load_data"),
    (["--tuner", "hyperband"], {"epochs": {"integer": [1, 3]}}, "cannot search epochs with --tuner hyperband"),
    (["--tuner", "hyperband", "--hyperband-factor", "1"], SPACE, "`--hyperband-factor` must be >= 2"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(space, capsys, argv, content, message):
    with pytest.raises(SystemExit) as exit_:
        sweep.cli(["--space", space(content), "--model-dir", "out", *argv])
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert not os.path.exists("out") and not os.path.exists("runs")


def test_a_folder_that_is_not_a_sweep_is_never_removed(space, capsys):
    os.makedirs("out")
    with open("out/notes.txt", "w") as file:
        file.write("mine")
    for extra in ([], ["--overwrite"]):
        with pytest.raises(SystemExit) as exit_:
            sweep.cli(["--space", space(), "--model-dir", "out", "--max-trials", "1", *extra])
        assert exit_.value.code == 2
        assert "holds files that are not a sweep" in capsys.readouterr().err
    assert os.listdir("out") == ["notes.txt"]


def test_overwrite_starts_a_sweep_again(space, capsys):
    os.makedirs("out/trial_0")
    with open("out/sweep.json", "w") as file:
        json.dump({"recipe": "baseline"}, file)
    with pytest.raises(SystemExit):  # other settings: refused, kept
        sweep.cli(["--space", space(), "--model-dir", "out", "--max-trials", "1", "--tuner", "grid"])
    assert "holds a sweep with other settings (recipe: 'baseline' -> 'train'" in capsys.readouterr().err
    assert sorted(os.listdir("out")) == ["sweep.json", "trial_0"]
    # --overwrite removes it; --objective names no metric, so the first trial stops the sweep
    with pytest.raises(SystemExit) as exit_:
        sweep.cli(["--space", space(), "--model-dir", "out", "--max-trials", "1", "--overwrite",
                   "--epochs", "1", "--model", "mlp", "--objective", "val_f1"])
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert "`--objective` 'val_f1': the run has no metric 'val_f1'; it has: accuracy" in lines[-1]
    assert json.load(open("out/sweep.json"))["recipe"] == "train"
    assert os.path.exists("out/trial_0/run/metrics.json")  # the trial's run itself is kept


def test_fixed_flags_are_checked_before_any_trial(space, capsys):
    with pytest.raises(SystemExit) as exit_:
        sweep.cli(["--space", space(), "--model-dir", "out", "--augment", "blur"])
    assert exit_.value.code == 2 and "`--augment` takes" in capsys.readouterr().err
    assert not os.path.exists("out")


def test_trials_that_keep_failing_stop_the_sweep_with_exit_1_and_their_errors_recorded(space, capsys):
    # accepted by train.py's flag checks, refused when it builds the model (8x8 grayscale digits)
    with pytest.raises(SystemExit) as exit_:
        sweep.cli(["--space", space(), "--model-dir", "out", "--max-trials", "5", "--epochs", "1",
                   "--model", "MobileNetV3Small"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "Keras Tuner stopped the sweep: Number of consecutive failures exceeded the limit of 3" in err
    with open("out/trials.csv") as file:
        rows = list(csv.DictReader(file))
    assert [r["status"] for r in rows] == ["FAILED"] * 3
    assert all("needs RGB images of at least 32x32" in r["error"] for r in rows)
    # the recipe's own failure: recorded as such and not retried (no retries column), --max-retries or not
    assert all(r["error"].startswith("recipe: ValueError: ") for r in rows) and "retries" not in rows[0]
