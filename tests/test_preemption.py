"""Preemption-safe training: SIGKILL mid-epoch, run the same command, end where an
uninterrupted run ends; callback state, atomic checkpoints, NaN stops, changed flags."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from conftest import ROOT, load_recipe

from kerasext import runner  # first: TensorFlow's quiet start
from kerasext import data

baseline = load_recipe("baseline")
RECIPE = [sys.executable, os.path.join(ROOT, "recipes", "baseline.py")]
# 1437 training digits at batch 8: 180 steps an epoch, a checkpoint every 7 steps.
FLAGS = ["--epochs", "3", "--batch-size", "8", "--checkpoint-every", "7", "--deterministic"]


def latest_step(model_dir):
    try:
        with open(os.path.join(model_dir, "backup", "latest")) as file:
            return int(file.read().split("-")[1])
    except (OSError, ValueError, IndexError):
        return -1


@pytest.mark.multiprocess
def test_sigkill_mid_epoch_then_the_same_command_resumes_exactly(tmp_path, request):
    straight = subprocess.run([*RECIPE, *FLAGS, "--model-dir", "straight"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=600)
    assert straight.returncode == 0, straight.stderr[-2000:]

    command = [*RECIPE, *FLAGS, "--model-dir", "killed"]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    request.addfinalizer(lambda: process.poll() is None and process.kill())
    deadline = time.time() + 300
    while latest_step(tmp_path / "killed") < 200 and time.time() < deadline:  # inside epoch 2
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not (tmp_path / "killed" / "metrics.json").exists()

    resumed = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming the unfinished run" in resumed.stderr

    a = json.loads((tmp_path / "straight" / "metrics.json").read_text())
    b = json.loads((tmp_path / "killed" / "metrics.json").read_text())
    assert b["resumed_from"]["batch"] > 0  # it really resumed mid-epoch
    assert b["resumed_from"]["step"] >= 200
    assert a["weights_sha256"] == b["weights_sha256"]  # bitwise equal weights
    assert a["test"] == b["test"] and a["final_epoch"] == b["final_epoch"]
    assert (tmp_path / "straight" / "history.csv").read_text() == (
        tmp_path / "killed" / "history.csv").read_text()


def small_model(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(16, activation="relu"), keras.layers.Dense(10)])
    model.compile(keras.optimizers.Adam(0.01),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


def tracked_callbacks(folder):
    return [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=50, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", patience=1, factor=0.5),
        keras.callbacks.ModelCheckpoint(os.path.join(folder, "best.keras"), monitor="val_loss",
                                        save_best_only=True),
    ]


def state_of(cbs):
    early, plateau, best = cbs
    return (early.wait, early.best, early.best_epoch, plateau.wait, plateau.best, best.best)


def test_stateful_callbacks_and_best_checkpoint_survive_a_restart(tmp_path):
    train, validation, _, _ = data.load("digits", batch_size=32, seed=1)

    def run(epochs, folder, model=None):
        model = model or small_model()
        cbs = tracked_callbacks(folder)
        backup = runner.BackupAndResume(os.path.join(folder, "backup"), data=train,
                                        callbacks=cbs, save_every=10)
        model.fit(train, validation_data=validation, epochs=epochs, verbose=0,
                  callbacks=[*cbs, backup])
        return model, cbs

    straight, straight_cbs = run(6, str(tmp_path / "a"))
    run(3, str(tmp_path / "b"))  # "killed" after epoch 3 of 6
    resumed, resumed_cbs = run(6, str(tmp_path / "b"))
    assert state_of(resumed_cbs) == state_of(straight_cbs)
    for x, y in zip(straight_cbs[0].best_weights, resumed_cbs[0].best_weights):
        np.testing.assert_array_equal(x, y)
    for x, y in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-6)
    assert float(resumed.optimizer.learning_rate.numpy()) == float(
        straight.optimizer.learning_rate.numpy())  # ReduceLROnPlateau's cuts kept
    # Keras' BackupAndRestore leaves a resumed model starting its next fit at the stale epoch.
    again = resumed.fit(train, epochs=1, verbose=0)
    assert again.epoch == [0]


def test_a_kill_during_a_checkpoint_write_leaves_the_previous_one(tmp_path):
    train, _, _, _ = data.load("digits", batch_size=64)
    backup_dir = tmp_path / "backup"
    model = small_model()
    model.fit(train, epochs=1, verbose=0,
              callbacks=[runner.BackupAndResume(str(backup_dir), data=train, save_every=5)])
    good = runner.latest_checkpoint(str(backup_dir))
    # A writer killed mid-checkpoint: a folder without its state, and an uncommitted pointer.
    (backup_dir / "ckpt-999").mkdir()
    (backup_dir / "ckpt-999" / "model.weights.h5").write_bytes(b"half a file")
    (backup_dir / ".latest.0123abcd.tmp").write_text("ckpt-999")  # as kerasext.runner.files names it
    assert runner.latest_checkpoint(str(backup_dir)) == good
    resumed = small_model(seed=5)
    resumed.fit(train, epochs=1, verbose=0,
                callbacks=[runner.BackupAndResume(str(backup_dir), data=train)])
    assert int(resumed.optimizer.iterations.numpy()) == int(model.optimizer.iterations.numpy())


def test_nan_loss_stops_with_one_line_and_keeps_the_last_good_checkpoint(run_in, capsys):
    with pytest.raises(SystemExit) as exit_info:
        runner.run_cli(baseline.main, ["--learning-rate", "1e7", "--epochs", "2",
                                       "--checkpoint-every", "1", "--model-dir", "nan"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2
    assert lines[-1].endswith(lines[-1].split("error: ")[-1])
    message = lines[-1]
    assert "The loss became NaN or infinite at step" in message and "Last good checkpoint: nan" in message
    checkpoint = message.rsplit(": ", 1)[1]
    assert os.path.exists(os.path.join(checkpoint, "state.json"))
    assert not os.path.exists("nan/metrics.json")


def test_killed_after_the_last_checkpoint_finishes_with_the_full_history(run_in):
    first = baseline.main(["--epochs", "2", "--checkpoint-every", "0", "--model-dir", "k"])
    history = open("k/history.csv").read()
    for name in ("metrics.json", "model.keras", "curves.png"):  # killed before these
        os.remove(os.path.join("k", name))
    again = baseline.main(["--epochs", "2", "--checkpoint-every", "0", "--model-dir", "k"])
    assert again["resumed_from"] == {"epoch": 2, "batch": 0, "step": 46}
    assert again["weights_sha256"] == first["weights_sha256"] and again["test"] == first["test"]
    assert again["final_epoch"] == first["final_epoch"] and open("k/history.csv").read() == history


def test_killed_before_any_checkpoint_the_same_command_starts_over_in_place(run_in):
    first = baseline.main(["--epochs", "1", "--model-dir", "early"])
    os.remove("early/metrics.json")
    shutil.rmtree("early/backup")  # killed before its first checkpoint
    again = baseline.main(["--epochs", "1", "--model-dir", "early"])
    assert again["resumed_from"] is None and again["weights_sha256"] == first["weights_sha256"]


def test_resume_with_other_flags_is_refused(run_in, capsys):
    baseline.main(["--epochs", "1", "--model-dir", "r"])
    os.remove("r/metrics.json")  # as if killed before the end
    capsys.readouterr()  # the first run's progress lines
    with pytest.raises(SystemExit) as exit_info:
        runner.run_cli(baseline.main, ["--epochs", "2", "--model-dir", "r"])
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2
    assert "holds an unfinished run started with other flags (epochs: 1 -> 2)" in line


def test_finished_run_is_not_resumed_or_overwritten(run_in, capsys):
    baseline.main(["--epochs", "1", "--model-dir", "done"])
    before = open("done/metrics.json").read()
    with pytest.raises(SystemExit):
        runner.run_cli(baseline.main, ["--epochs", "1", "--model-dir", "done"])
    assert "already holds files" in capsys.readouterr().err
    assert open("done/metrics.json").read() == before
    shutil.rmtree("done")
