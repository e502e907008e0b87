"""What `Run.finish` and the history writer add to a run: the learning-rate (and cycled
momentum) columns and panels, and the test split's confusion matrix (json and png)."""

import csv
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.metrics import confusion_matrix as sklearn_confusion_matrix

from kerasext import callbacks as kcallbacks
from kerasext import runner
from kerasext.data.pipeline import DatasetInfo
from kerasext.plot import curves as curves_module
from kerasext.plot import plot_confusion_matrix
from kerasext.runner.confusion import confusion_matrix
from kerasext.runner.history import HistoryWriter

PNG = b"\x89PNG\r\n\x1a\n"
STEPS, EPOCHS, BATCH = 4, 3, 8  # 32 examples: 4 steps per epoch


def arrays(classes=4, n=60, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 6)).astype("float32"), rng.integers(0, classes, n)


def classifier(units=4, activation="softmax", loss="sparse_categorical_crossentropy", optimizer="sgd"):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(units, activation=activation)])
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"] if units > 1 else None)
    return model


def info(classes=4):
    names = [f"class {i}" for i in range(classes)]
    return DatasetInfo("toy", classes, names, (6,), {"train": 0, "validation": 0, "test": 60})


# Confusion matrix ---------------------------------------------------------------------------


def test_finish_writes_the_confusion_matrix_of_the_test_split(run_in):
    x, y = arrays()
    model = classifier()
    test = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)  # 4 batches, the last short
    os.makedirs("out")
    metrics = runner.Run("out", {"recipe": "demo"}).finish(model, {"loss": [1.0]}, test, info())
    expected = sklearn_confusion_matrix(y, model.predict(x, verbose=0).argmax(-1), labels=range(4))
    saved = json.load(open("out/metrics.json"))["confusion_matrix"]
    assert saved == metrics["confusion_matrix"]
    assert saved["labels"] == ["class 0", "class 1", "class 2", "class 3"]
    assert saved["matrix"] == expected.tolist() and np.sum(saved["matrix"]) == 60
    assert open("out/confusion_matrix.png", "rb").read(8) == PNG
    assert not [f for f in os.listdir("out") if f.startswith(".")]  # no temporary left


def test_a_regression_run_has_no_confusion_matrix(run_in):
    x, y = arrays()
    model = classifier(units=1, activation=None, loss="mse")
    os.makedirs("out")
    test = tf.data.Dataset.from_tensor_slices((x, y.astype("float32"))).batch(16)
    metrics = runner.Run("out", {}).finish(model, {}, test, None)
    assert "confusion_matrix" not in metrics and not os.path.exists("out/confusion_matrix.png")


def test_one_hot_labels_and_no_info():
    x, y = arrays(classes=3)
    model = classifier(units=3, loss="categorical_crossentropy")
    one_hot = tf.data.Dataset.from_tensor_slices((x, np.eye(3)[y], np.ones(60))).batch(7)
    expected = sklearn_confusion_matrix(y, model.predict(x, verbose=0).argmax(-1), labels=range(3))
    np.testing.assert_array_equal(confusion_matrix(model, one_hot), expected)


@pytest.mark.parametrize("from_logits", [False, True])
def test_a_binary_output_counts_two_classes(from_logits):
    x, y = arrays(classes=2)
    model = classifier(units=1, activation=None if from_logits else "sigmoid",
                       loss=keras.losses.BinaryCrossentropy(from_logits=from_logits))
    scores = model.predict(x, verbose=0)[:, 0]
    expected = sklearn_confusion_matrix(y, scores > (0.0 if from_logits else 0.5), labels=[0, 1])
    np.testing.assert_array_equal(confusion_matrix(model, (x, y), num_classes=2), expected)
    np.testing.assert_array_equal(confusion_matrix(model, (x, y[:, None].astype("float32"))), expected)


def test_outputs_that_are_not_the_classes_are_skipped():
    x, y = arrays()
    assert confusion_matrix(classifier(units=4), (x, y), num_classes=10) is None
    assert confusion_matrix(classifier(units=4, loss="mse"), (x, y)) is None  # a regression loss
    assert confusion_matrix(classifier(units=1, activation=None, loss="huber"), (x, y), 2) is None


def test_plot_confusion_matrix_checks_its_input(tmp_path):
    path = tmp_path / "m.png"
    assert plot_confusion_matrix([[5, 1], [0, 4]], path, labels=["cat", "dog"], title="t") == path
    assert path.read_bytes()[:8] == PNG
    with pytest.raises(ValueError, match=r"`matrix` must be a non-empty square array"):
        plot_confusion_matrix([[1, 2, 3]], path)
    with pytest.raises(ValueError, match=r"`labels` must name the matrix's 2 classes"):
        plot_confusion_matrix([[1, 0], [0, 1]], path, labels=["a"])


# Learning rate and momentum -------------------------------------------------------------------


def train(tmp_path, optimizer, callbacks=(), epochs=EPOCHS):
    x, y = arrays(n=STEPS * BATCH)
    model = classifier(optimizer=optimizer)
    writer = HistoryWriter(str(tmp_path / "history.csv"))
    model.fit(x, y, batch_size=BATCH, epochs=epochs, shuffle=False, verbose=0,
              callbacks=[*callbacks, writer])
    with open(tmp_path / "history.csv") as file:
        rows = list(csv.DictReader(file))
    return writer.columns(), rows


def one_cycle_linear(step, total, max_lr, div, div_final, pct_start):
    """NumPy: `max_lr / div` -> `max_lr` at `pct_start * (total - 1)` -> `max_lr / div_final`."""
    up = pct_start * (total - 1)
    if step < up:
        return max_lr / div + (max_lr - max_lr / div) * step / up
    return max_lr + (max_lr / div_final - max_lr) * (step - up) / (total - 1 - up)


def test_one_cycle_learning_rate_and_momentum_columns(tmp_path):
    cycle = kcallbacks.OneCycle(max_lr=0.1, moms=(0.95, 0.85, 0.95), pct_start=0.4, div=10.0,
                                div_final=100.0, anneal="linear")
    columns, rows = train(tmp_path, keras.optimizers.SGD(momentum=0.9), [cycle])
    total = STEPS * EPOCHS
    ends = [(epoch + 1) * STEPS - 1 for epoch in range(EPOCHS)]  # each epoch's last step
    expected = [one_cycle_linear(s, total, 0.1, 10.0, 100.0, 0.4) for s in ends]
    np.testing.assert_allclose(columns["learning_rate"], expected, rtol=1e-5)
    assert float(rows[-1]["learning_rate"]) == pytest.approx(0.001, rel=1e-5)  # lands on max_lr / div_final
    assert len(set(columns["momentum"])) == EPOCHS and columns["momentum"][-1] == pytest.approx(0.95)


def test_a_schedule_in_the_optimizer_is_recorded_without_a_callback(tmp_path):
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    columns, _ = train(tmp_path, keras.optimizers.SGD(schedule))
    ends = np.arange(1, EPOCHS + 1) * STEPS - 1
    np.testing.assert_allclose(columns["learning_rate"], 0.1 * 0.5 ** ends, rtol=1e-5)
    assert "momentum" not in columns  # a constant float momentum is not a column


def test_a_plateau_reduction_is_recorded_from_the_epoch_that_used_it(tmp_path):
    # Epoch 0 sets the best loss; the end of epochs 1 and 2 halves the rate (for the next).
    reduce = keras.callbacks.ReduceLROnPlateau("loss", factor=0.5, patience=0, min_delta=10.0)
    optimizer = keras.optimizers.SGD(0.2)
    columns, _ = train(tmp_path, optimizer, [reduce])
    np.testing.assert_allclose(columns["learning_rate"], [0.2, 0.2, 0.1], rtol=1e-6)
    assert float(optimizer.learning_rate) == pytest.approx(0.05)  # not used by any step


def test_plot_history_adds_learning_rate_and_varying_momentum_panels(tmp_path, monkeypatch):
    drawn = []
    monkeypatch.setattr(curves_module, "save_figure", lambda figure, path, **kw: drawn.append(figure))
    history = {"loss": [1.0, 0.5, 0.4], "val_loss": [1.1, 0.7, 0.6],
               "learning_rate": [0.1, 0.05, 0.01], "momentum": [0.85, 0.9, 0.95]}
    curves_module.plot_history(history, tmp_path / "c.png")
    curves_module.plot_history({**history, "momentum": [0.9] * 3}, tmp_path / "c.png")
    labels = [[axes.get_ylabel() for axes in figure.axes] for figure in drawn]
    assert labels == [["loss", "learning rate", "momentum"], ["loss", "learning rate"]]
