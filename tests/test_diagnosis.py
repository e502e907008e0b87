"""LearningCurveDiagnosis: the rules on fixed curves, then tiny models that
overfit, underfit and train well."""

import json

import keras
import numpy as np
import pytest

from kerasext.callbacks import LearningCurveDiagnosis
from kerasext.callbacks import diagnose


# The rules on fixed curves ---------------------------------------------------------
def test_rising_validation_loss_while_training_falls_is_overfitting():
    losses = [1.0, 0.85, 0.72, 0.62, 0.55, 0.5]
    vals = [1.0, 0.9, 0.8, 0.82, 0.84, 0.86]
    verdict = diagnose(losses, vals, patience=3)
    assert verdict["verdict"] == "overfitting" and verdict["rule"] == "rising_val_loss"
    assert verdict["best_val_epoch"] == 3 and verdict["epochs_since_best_val"] == 3
    assert verdict["best_val_loss"] == 0.8 and verdict["val_loss"] == 0.86
    assert verdict["gap"] < 0.5  # the gap rule alone would not fire
    assert "0.8 (epoch 3)" in verdict["reason"] and "0.86" in verdict["reason"]
    # One epoch less of rising is not enough with patience=3 (and no big gap).
    assert diagnose(losses[:-1], vals[:-1], patience=3)["verdict"] == "healthy"


def test_large_gap_is_overfitting():
    verdict = diagnose([1.0, 0.5, 0.2], [1.0, 0.9, 0.8], gap_threshold=0.5)
    assert verdict["verdict"] == "overfitting" and verdict["rule"] == "gap"
    assert verdict["gap"] == pytest.approx(0.75)
    assert diagnose([1.0, 0.5, 0.2], [1.0, 0.9, 0.8], gap_threshold=0.8)["verdict"] == "healthy"


def test_flat_high_training_loss_is_underfitting():
    losses = [2.0, 1.7, 1.66, 1.655, 1.653, 1.652]
    verdict = diagnose(losses, [2.0, 1.75, 1.7, 1.70, 1.70, 1.70], patience=3)
    assert verdict["verdict"] == "underfitting" and verdict["rule"] == "flat_high_loss"
    assert verdict["loss_vs_first"] == pytest.approx(0.826)
    assert verdict["loss_change_per_epoch"] == pytest.approx((1.66 - 1.652) / 1.66 / 3)
    # Flat but low (a converged model) is healthy.
    assert diagnose([2.0, 0.3, 0.2, 0.199, 0.199], None)["verdict"] == "healthy"
    # Flat training loss with a flat/rising validation loss is not "overfitting".
    assert diagnose(losses, [2.0, 1.6, 1.7, 1.72, 1.73, 1.74])["verdict"] == "underfitting"


def test_healthy_and_without_validation():
    verdict = diagnose([1.0, 0.7, 0.5, 0.4, 0.33], [1.0, 0.75, 0.55, 0.45, 0.38])
    assert verdict["verdict"] == "healthy" and "falling" in verdict["reason"]
    verdict = diagnose([1.0, 0.7, 0.5, 0.4, 0.33])
    assert verdict["verdict"] == "healthy" and verdict["val_loss"] is None
    assert "overfitting not checked" in verdict["reason"]
    verdict = diagnose([1.0], [1.1])
    assert verdict["verdict"] == "healthy" and "need 4 epochs" in verdict["reason"]
    json.dumps(verdict)


# Tiny models ---------------------------------------------------------------------
def make_data(n, noise, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    y = x[:, 1:2] * x[:, 2:3] + x[:, 3:4] ** 2 - 1 + noise * rng.normal(size=(n, 1))
    return x, y.astype("float32")


def mlp(width, depth):
    layers = [keras.Input((8,))]
    layers += [keras.layers.Dense(width, activation="relu") for _ in range(depth)]
    return keras.Sequential(layers + [keras.layers.Dense(1)])


def train(model, x, y, epochs, batch_size, lr, **kwargs):
    model.compile(keras.optimizers.Adam(lr), loss="mse")
    diagnosis = LearningCurveDiagnosis(patience=3, **kwargs)
    model.fit(x, y, validation_split=0.25, epochs=epochs, batch_size=batch_size,
              shuffle=False, verbose=0, callbacks=[diagnosis])
    json.dumps(diagnosis.verdict)
    assert len(diagnosis.history) == epochs
    return diagnosis


def test_big_mlp_on_100_noisy_samples_overfits(capsys):
    keras.utils.set_random_seed(0)
    x, y = make_data(100, noise=1.0, seed=1)
    diagnosis = train(mlp(256, 2), x, y, epochs=12, batch_size=75, lr=3e-3, verbose=True)
    assert diagnosis.verdict["verdict"] == "overfitting", diagnosis.verdict
    assert diagnosis.verdict["val_loss"] > 2 * diagnosis.verdict["loss"]
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 13 and lines[0].startswith("LearningCurveDiagnosis epoch 1: ")
    assert lines[-1].startswith("LearningCurveDiagnosis final verdict: overfitting - ")


def test_one_unit_model_underfits():
    keras.utils.set_random_seed(0)
    x, y = make_data(2000, noise=0.1, seed=2)
    diagnosis = train(mlp(1, 0), x, y, epochs=8, batch_size=64, lr=3e-2, verbose=False)
    assert diagnosis.verdict["verdict"] == "underfitting", diagnosis.verdict


def test_sensible_model_is_healthy():
    keras.utils.set_random_seed(0)
    x, y = make_data(2000, noise=0.1, seed=2)
    diagnosis = train(mlp(64, 2), x, y, epochs=8, batch_size=64, lr=3e-3, verbose=False)
    assert diagnosis.verdict["verdict"] == "healthy", diagnosis.verdict
    assert diagnosis.verdict["loss_vs_first"] < 0.2


# State ---------------------------------------------------------------------------
def feed(callback, epochs, start=0):
    for epoch in range(start, epochs):
        callback.on_epoch_begin(epoch)
        callback.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1), "val_loss": 1.0})


def test_state_round_trip_and_backup_file(tmp_path):
    path = tmp_path / "diagnosis.json"
    first = LearningCurveDiagnosis(backup_path=path, verbose=False)
    first.on_train_begin()
    feed(first, 5)
    second = LearningCurveDiagnosis(backup_path=path, verbose=False)
    second.on_train_begin()  # as after a restart: reads the file
    assert second.get_state() == first.get_state()
    assert second.verdict == first.verdict
    # Resuming at epoch 3 drops epochs 3 and 4 before recording them again.
    second.on_epoch_begin(3)
    assert [e["epoch"] for e in second.history] == [0, 1, 2]
    feed(second, 5, start=3)
    assert second.get_state() == first.get_state()
    # A fresh run (epoch 0) never mixes with an old file.
    third = LearningCurveDiagnosis(backup_path=path, verbose=False)
    third.on_train_begin()
    third.on_epoch_begin(0)
    assert third.history == []
    fourth = LearningCurveDiagnosis(verbose=False)
    fourth.set_state(json.loads(json.dumps(first.get_state())))
    assert fourth.verdict == first.verdict


def test_config_round_trip():
    callback = LearningCurveDiagnosis(patience=5, gap_threshold=0.3, verbose=False)
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(callback))
    assert restored.get_config() == callback.get_config()


@pytest.mark.parametrize("kwargs,received", [
    (dict(patience=0), "patience=0"),
    (dict(gap_threshold=0), "gap_threshold=0"),
    (dict(underfit_threshold=-1), "underfit_threshold=-1"),
    (dict(flat_threshold=-0.1), "flat_threshold=-0.1"),
    (dict(min_delta=-1), "min_delta=-1"),
])
def test_bad_input(kwargs, received):
    with pytest.raises(ValueError, match="Received:") as info:
        LearningCurveDiagnosis(**kwargs)
    assert received in str(info.value)
