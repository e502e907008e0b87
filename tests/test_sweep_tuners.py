"""recipes/sweep.py with each of Keras Tuner's four tuners: a small real sweep of recipes/train.py
on digits (1-epoch MLP trials), read back from the files it writes."""

import csv
import json
import os

import keras
import numpy as np
import pytest
from conftest import load_recipe

sweep = load_recipe("sweep")
train = load_recipe("train")
SPACE = {"learning-rate": {"double": [1e-3, 1e-2], "scale": "log"},
         "dropout": {"double": [0.0, 0.3]},  # linear: Bayesian optimization gives NumPy floats
         "optimizer": {"categorical": ["adam", "rmsprop"]}}
GRID_SPACE = {"learning-rate": {"discrete": [0.002, 0.01]}, "optimizer": {"categorical": ["adam", "rmsprop"]}}
COMMON = ["--epochs", "1", "--model", "mlp"]
# Bayesian: 2 random trials, then one from its Gaussian process; Hyperband: see below.
TRIALS = {"grid": 2, "random": 2, "bayesian": 3, "hyperband": 3}


def read_rows(folder):
    with open(os.path.join(folder, "trials.csv")) as file:
        return list(csv.DictReader(file))


def run_metrics(folder, trial, run="run"):
    with open(os.path.join(folder, f"trial_{trial}", run, "metrics.json")) as file:
        return json.load(file)


@pytest.fixture(scope="module", params=["grid", "random", "bayesian", "hyperband"])
def swept(request, tmp_path_factory):
    """One sweep per tuner, shared by the tests below."""
    root = tmp_path_factory.mktemp(request.param)
    space = root / "space.json"
    space.write_text(json.dumps(GRID_SPACE if request.param == "grid" else SPACE))
    argv = ["--tuner", request.param, "--space", str(space), "--model-dir", str(root / "sweep"), *COMMON,
            "--max-trials", str(TRIALS[request.param])]
    if request.param == "hyperband":  # max 2 epochs, factor 2: two 1-epoch trials, then the best for 2
        argv += ["--epochs", "2", "--hyperband-factor", "2"]
    cwd = os.getcwd()
    os.chdir(root)
    try:
        result = sweep.main(argv)
    finally:
        os.chdir(cwd)
        keras.mixed_precision.set_global_policy("float32")
    return request.param, str(root / "sweep"), result, argv


def test_every_trial_is_a_real_run_scored_by_its_metrics(swept):
    tuner, folder, result, _ = swept
    rows = read_rows(folder)
    assert [r["trial"] for r in rows] == [str(i) for i in range(TRIALS[tuner])]  # each once
    assert {r["status"] for r in rows} == {"COMPLETED"}
    for row in rows:
        metrics = run_metrics(folder, row["trial"])
        assert float(row["val_accuracy"]) == pytest.approx(metrics["final_epoch"]["val_accuracy"])
        config = json.load(open(os.path.join(folder, f"trial_{row['trial']}", "run", "config.json")))
        assert config["optimizer"] == row["optimizer"] and config["model"] == "mlp"
        assert config["learning_rate"] == pytest.approx(float(row["learning-rate"]))
        if tuner != "grid":
            assert config["dropout"] == pytest.approx(float(row["dropout"]))
        assert float(row["seconds"]) > 0
    if tuner == "grid":  # the grid's first combinations, in Keras Tuner's order
        assert {(float(r["learning-rate"]), r["optimizer"]) for r in rows} <= {
            (a, b) for a in (0.002, 0.01) for b in ("adam", "rmsprop")}
    if tuner == "hyperband":  # the third trial continues the better of the first two, for 2 epochs
        assert [r["tuner/epochs"] for r in rows] == ["1", "1", "2"]
        assert run_metrics(folder, "2")["epochs_run"] == 2
        assert rows[2]["tuner/trial_id"] in ("0", "1")


def test_best_json_replays_the_best_trial_with_train_py(swept, tmp_path):
    tuner, folder, result, _ = swept
    if tuner in ("grid", "bayesian"):
        pytest.skip("best.json is written alike for every tuner: replayed for random and hyperband")
    rows = read_rows(folder)
    best = max(rows, key=lambda r: float(r["val_accuracy"]))
    assert result["best"]["trial"] == best["trial"]
    replay = train.main(["--config", os.path.join(folder, "best.json"), "--model-dir", str(tmp_path / "replay")])
    keras.mixed_precision.set_global_policy("float32")
    assert replay["final_epoch"]["val_accuracy"] == pytest.approx(float(best["val_accuracy"]), abs=1e-6)
    assert replay["test"] == run_metrics(folder, best["trial"])["test"]


def test_plot_and_tensorboard_hparams_read_back(swept):
    import tensorflow as tf
    from tensorboard.plugins.hparams import plugin_data_pb2

    _, folder, _, _ = swept
    with open(os.path.join(folder, "sweep_trials.png"), "rb") as file:
        assert file.read(8) == b"\x89PNG\r\n\x1a\n"
    rows = {r["trial"]: r for r in read_rows(folder)}
    root = os.path.join(folder, "hparams")
    assert sorted(os.listdir(root))[-len(rows):] == [f"trial_{t}" for t in sorted(rows)]
    for trial, row in rows.items():
        (events,) = tf.io.gfile.glob(os.path.join(root, f"trial_{trial}", "events.out.tfevents.*"))
        session, score = None, None
        for event in tf.compat.v1.train.summary_iterator(events):
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "hparams":
                    data = plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
                    if data.HasField("session_start_info"):
                        session = data.session_start_info
                elif value.tag == "val_accuracy":
                    score = float(tf.make_ndarray(value.tensor))
        assert session.hparams["optimizer"].string_value == row["optimizer"]
        assert session.hparams["learning-rate"].number_value == pytest.approx(float(row["learning-rate"]))
        assert score == pytest.approx(float(row["val_accuracy"]))


def test_rerun_resumes_the_sweep_and_changed_settings_are_refused(swept, capsys):
    tuner, folder, _, argv = swept
    if tuner != "random":
        pytest.skip("resuming is Keras Tuner's, the same for every tuner: checked once")
    before = read_rows(folder)
    stamps = {t: os.path.getmtime(os.path.join(folder, f"trial_{t}", "run", "metrics.json")) for t in "01"}
    again = sweep.main(argv)  # same command, finished sweep: nothing runs again
    assert [r["trial"] for r in again["rows"]] == ["0", "1"] and read_rows(folder) == before
    assert stamps == {t: os.path.getmtime(os.path.join(folder, f"trial_{t}", "run", "metrics.json")) for t in "01"}
    more = sweep.main([*argv, "--max-trials", "3"])  # one more trial, the others kept
    keras.mixed_precision.set_global_policy("float32")
    assert [r["trial"] for r in more["rows"]] == ["0", "1", "2"]
    assert read_rows(folder)[:2] == before
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        sweep.cli([*argv, "--objective", "val_loss"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds a sweep with other settings (objective: 'val_accuracy' -> 'val_loss'" in err[0]
    assert len(read_rows(folder)) == 3  # nothing lost


def test_objective_std_columns_only_with_cv(swept):
    _, folder, _, _ = swept
    header = read_rows(folder)[0].keys()
    assert "val_accuracy_std" not in header and not any(k.startswith("fold") for k in header)
    assert np.isfinite([float(r["val_accuracy"]) for r in read_rows(folder)]).all()
