"""`recipes/sweep.py --cv K`: k-fold cross-validation inside each trial (keras-tuner #139),
each fold a run of the recipe with `--fold I/K` (the runner's side: test_runner_folds.py)."""

import csv
import json
import os

import keras
import numpy as np
import pytest
from conftest import load_recipe

from kerasext import runner

sweep = load_recipe("sweep")
train = load_recipe("train")


@pytest.fixture(scope="module")
def cv_sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("cv")
    space = root / "space.json"
    space.write_text(json.dumps({"learning-rate": {"discrete": [0.003, 0.01]}}))
    result = sweep.main(["--tuner", "grid", "--space", str(space), "--cv", "2", "--max-trials", "2",
                         "--epochs", "1", "--model", "mlp", "--model-dir", str(root / "sweep")])
    keras.mixed_precision.set_global_policy("float32")
    with open(root / "sweep" / "trials.csv") as file:
        return str(root / "sweep"), list(csv.DictReader(file)), result


def test_objective_is_the_mean_of_the_folds_metrics_files(cv_sweep):
    folder, rows, _ = cv_sweep
    assert [r["trial"] for r in rows] == ["0", "1"] and {r["status"] for r in rows} == {"COMPLETED"}
    for row in rows:
        folds = []
        for index in (1, 2):
            run_dir = os.path.join(folder, f"trial_{row['trial']}", f"fold_{index}")
            with open(os.path.join(run_dir, "metrics.json")) as file:
                metrics = json.load(file)
            folds.append(metrics["final_epoch"]["val_accuracy"])
            assert metrics["dataset"]["name"].endswith(f"(fold {index} of 2)")  # a real fold, passed explicitly
            with open(os.path.join(run_dir, "config.json")) as file:
                assert json.load(file)["fold"] == f"{index}/2"
            assert float(row[f"fold{index}"]) == pytest.approx(folds[-1])
        assert float(row["val_accuracy"]) == pytest.approx(np.mean(folds))
        assert float(row["val_accuracy_std"]) == pytest.approx(np.std(folds, ddof=1))
        assert not os.path.exists(os.path.join(folder, f"trial_{row['trial']}", "run"))


def test_best_json_is_the_best_trials_flags(cv_sweep):
    folder, rows, result = cv_sweep
    path = os.path.join(folder, "best.json")
    best = max(rows, key=lambda r: float(r["val_accuracy"]))
    args = runner.parse_args(train.build_parser(), ["--config", path])  # train.py reads it
    assert args.learning_rate == pytest.approx(float(best["learning-rate"]))
    assert (args.model, args.epochs) == ("mlp", 1)
