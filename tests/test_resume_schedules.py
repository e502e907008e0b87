"""Resume: 4 epochs straight == 2 epochs, interruption, rebuild from a
BackupAndRestore checkpoint, 2 more epochs. Same per-step LR and momentum,
same final weights and optimizer state, same diagnosis history."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasext.callbacks import CosineAnnealing
from kerasext.callbacks import LearningCurveDiagnosis
from kerasext.callbacks import OneCycle
from kerasext.schedules import Warmup
from kerasext.schedules import WarmupCosine


@pytest.fixture(scope="module", autouse=True)
def deterministic_ops():
    tf.config.experimental.enable_op_determinism()
    yield
    # Public TF has no switch back; leave the rest of the session as it was.
    from tensorflow.python.framework import config

    config.disable_op_determinism()


class Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.rows = []

    def on_train_batch_begin(self, batch, logs=None):
        optimizer = self.model.optimizer
        name = "beta_1" if hasattr(optimizer, "beta_1") else "momentum"
        self.rows.append((int(optimizer.iterations), float(optimizer.learning_rate),
                          float(getattr(optimizer, name))))


class Interrupt(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            raise RuntimeError("interrupted")


SETUPS = {
    "sgd_one_cycle_callback": (
        lambda: keras.optimizers.SGD(0.01, momentum=0.9),
        lambda: [OneCycle(0.1, moms=(0.95, 0.85, 0.95))],
    ),
    "adam_warmup_cosine_schedule": (
        lambda: keras.optimizers.Adam(WarmupCosine(0.01, 32, warmup_steps=5, restarts=1)),
        lambda: [],
    ),
    "adamw_cosine_callback": (
        lambda: keras.optimizers.AdamW(0.001),
        lambda: [CosineAnnealing(0.01, warmup=1, restarts=1, moms=(0.95, 0.85))],
    ),
    "nadam_warmup_schedule": (
        lambda: keras.optimizers.Nadam(Warmup(keras.optimizers.schedules.CosineDecay(0.01, 30), 6)),
        lambda: [],
    ),
}


def build(make_optimizer):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(make_optimizer(), loss="mse")
    return model


def run(make_optimizer, make_callbacks, tmp_path, x, y, val, extra=()):
    model = build(make_optimizer)
    recorder = Recorder()
    diagnosis = LearningCurveDiagnosis(backup_path=tmp_path / "diagnosis.json", verbose=False)
    callbacks = make_callbacks() + [recorder, diagnosis] + list(extra)
    try:
        model.fit(x, y, batch_size=8, epochs=4, shuffle=False, verbose=0,
                  validation_data=val, callbacks=callbacks)
    except RuntimeError as error:
        assert "interrupted" in str(error)
    return model, recorder, diagnosis


@pytest.mark.parametrize("setup", list(SETUPS))
def test_resume_from_backup_is_exact(setup, tmp_path):
    make_optimizer, make_callbacks = SETUPS[setup]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype("float32")
    y = (np.sin(x[:, :1]) + x[:, 1:2] ** 2).astype("float32")
    val = (x[:16] + 0.1, y[:16])

    (tmp_path / "a").mkdir()
    straight, straight_rec, straight_diag = run(
        make_optimizer, make_callbacks, tmp_path / "a", x, y, val)

    backup = str(tmp_path / "backup")
    state = tmp_path / "b"
    state.mkdir()
    _, first_rec, _ = run(make_optimizer, make_callbacks, state, x, y, val,
                          extra=[keras.callbacks.BackupAndRestore(backup), Interrupt()])
    assert [r[0] for r in first_rec.rows] == list(range(16))
    # A new process: everything rebuilt, only the backup dir and the JSON remain.
    resumed, second_rec, resumed_diag = run(make_optimizer, make_callbacks, state, x, y, val,
                                            extra=[keras.callbacks.BackupAndRestore(backup)])
    assert [r[0] for r in second_rec.rows] == list(range(16, 32))

    assert first_rec.rows + second_rec.rows == straight_rec.rows  # step, lr, momentum
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(straight.optimizer.variables, resumed.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert resumed_diag.get_state() == straight_diag.get_state()
    assert resumed_diag.verdict == straight_diag.verdict
    assert len(resumed_diag.history) == 4
