"""OneCycle and CosineAnnealing callbacks: per-step LR and momentum, computed inside the
compiled train step (no batch hook), and proof by the weights (a NumPy SGD/Adam) that the
compiled step uses them. Runs under TensorFlow and JAX."""

import csv
import math
import warnings

import keras
import numpy as np
import pytest

from kerasext.callbacks import CosineAnnealing
from kerasext.callbacks import OneCycle

BATCH = 8
TRUE_W = np.array([[1.0], [-2.0], [0.5]])


def data(n=64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3))
    y = x @ TRUE_W + 0.3 + 0.1 * rng.normal(size=(n, 1))
    return x.astype("float32"), y.astype("float32")


def linear_model(optimizer, seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer, loss="mse")
    return model


def momentum_of(optimizer):
    name = "beta_1" if hasattr(optimizer, "beta_1") else "momentum"
    return float(getattr(optimizer, name))


class Recorder(keras.callbacks.Callback):
    """Reads back, before each step, the step count, LR and momentum in the optimizer."""

    def __init__(self):
        super().__init__()
        self.steps, self.lrs, self.moms = [], [], []

    def on_train_batch_begin(self, batch, logs=None):
        optimizer = self.model.optimizer
        self.steps.append(int(optimizer.iterations))
        self.lrs.append(float(optimizer.learning_rate))
        self.moms.append(momentum_of(optimizer))


# NumPy references ---------------------------------------------------------------
def ref_one_cycle(step, start, peak, end, total_steps, pct_start=0.25):
    last = total_steps - 1
    top = pct_start * last
    s = min(step, last)

    def cos(a, b, p):
        return a + (1 + math.cos(math.pi * (1 - p))) * (b - a) / 2

    return cos(start, peak, s / top) if s < top else cos(peak, end, (s - top) / (last - top))


def ref_warmup_cosine(step, max_lr, total_steps, warmup_steps, min_lr, restarts, t_mul):
    if step < warmup_steps:
        return max_lr * step / warmup_steps
    decay = total_steps - 1 - warmup_steps
    n = (restarts or 0) + 1
    t0 = decay / n if t_mul == 1 else decay * (t_mul - 1) / (t_mul**n - 1)
    p, start, length = min(step - warmup_steps, decay), 0.0, t0
    for _ in range(n - 1):
        if p < start + length:
            break
        start, length = start + length, length * t_mul
    return min_lr + (max_lr - min_lr) * (1 + math.cos(math.pi * (p - start) / length)) / 2


def batches(x, y, steps):
    n = len(x)
    for i in range(steps):
        j = (i * BATCH) % n
        yield x[j:j + BATCH].astype(np.float64), y[j:j + BATCH].astype(np.float64)


def mse_grads(w, b, xb, yb):
    err = xb @ w + b - yb
    return 2 / len(xb) * xb.T @ err, 2 / len(xb) * err.sum(axis=0)


def emulate_sgd(x, y, w, b, lrs, moms, vw=None, vb=None):
    """Keras SGD: velocity = momentum * velocity - lr * g; w += velocity."""
    w, b = w.astype(np.float64), b.astype(np.float64)
    vw = np.zeros_like(w) if vw is None else vw.astype(np.float64)
    vb = np.zeros_like(b) if vb is None else vb.astype(np.float64)
    for (xb, yb), lr, mom in zip(batches(x, y, len(lrs)), lrs, moms):
        gw, gb = mse_grads(w, b, xb, yb)
        vw, vb = mom * vw - lr * gw, mom * vb - lr * gb
        w, b = w + vw, b + vb
    return w, b


def emulate_adam(x, y, w, b, lrs, beta1s, beta2=0.999, eps=1e-7):
    """Keras Adam's update_step, with the step's beta_1 used throughout."""
    params = [w.astype(np.float64), b.astype(np.float64)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for t, ((xb, yb), lr, b1) in enumerate(zip(batches(x, y, len(lrs)), lrs, beta1s), 1):
        grads = mse_grads(params[0], params[1], xb, yb)
        alpha = lr * math.sqrt(1 - beta2**t) / (1 - b1**t)
        for i, g in enumerate(grads):
            m[i] += (g - m[i]) * (1 - b1)
            v[i] += (g * g - v[i]) * (1 - beta2)
            params[i] = params[i] - alpha * m[i] / (np.sqrt(v[i]) + eps)
    return params


# Tests --------------------------------------------------------------------------
def test_one_cycle_sets_lr_and_momentum_every_step_and_logs_them(tmp_path):
    x, y = data()
    model = linear_model(keras.optimizers.SGD(0.01, momentum=0.9))
    recorder = Recorder()
    csv_path = tmp_path / "history.csv"
    history = model.fit(
        x, y, batch_size=BATCH, epochs=3, shuffle=False, verbose=0,
        callbacks=[OneCycle(0.1), recorder, keras.callbacks.CSVLogger(str(csv_path))],
    )
    total = 3 * 8
    assert recorder.steps == list(range(total))
    expected_lr = [ref_one_cycle(s, 0.1 / 25, 0.1, 0.1 / 1e4, total) for s in range(total)]
    expected_mom = [ref_one_cycle(s, 0.95, 0.85, 0.95, total) for s in range(total)]
    np.testing.assert_allclose(recorder.lrs, expected_lr, rtol=1e-5)
    np.testing.assert_allclose(recorder.moms, expected_mom, rtol=1e-6)
    # Logged once per epoch: the values of the epoch's last step.
    np.testing.assert_allclose(history.history["learning_rate"],
                               [expected_lr[7], expected_lr[15], expected_lr[23]], rtol=1e-5)
    np.testing.assert_allclose(history.history["momentum"],
                               [expected_mom[7], expected_mom[15], expected_mom[23]], rtol=1e-6)
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    assert {"learning_rate", "momentum"} <= set(rows[0])
    assert float(rows[-1]["momentum"]) == pytest.approx(0.95, abs=1e-6)
    # The optimizer gets its float back after fit.
    assert model.optimizer.momentum == 0.9 and isinstance(model.optimizer.momentum, float)


def test_sgd_momentum_cycling_reaches_the_compiled_step():
    x, y = data()
    runs = {}
    for moms in (None, (0.95, 0.85, 0.95)):
        model = linear_model(keras.optimizers.SGD(0.01, momentum=0.9))
        w0, b0 = model.get_weights()
        recorder = Recorder()
        model.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0,
                  callbacks=[OneCycle(0.05, moms=moms), recorder])
        runs[moms] = (model.get_weights(), recorder)
        w_ref, b_ref = emulate_sgd(x, y, w0, b0, recorder.lrs, recorder.moms)
        np.testing.assert_allclose(model.get_weights()[0], w_ref, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(model.get_weights()[1], b_ref, rtol=1e-4, atol=1e-6)
    constant, cycled = runs[None], runs[(0.95, 0.85, 0.95)]
    assert constant[1].moms == [0.9] * 16
    assert len(set(np.round(cycled[1].moms, 6))) > 5
    np.testing.assert_allclose(constant[1].lrs, cycled[1].lrs)  # only momentum differs
    assert np.abs(constant[0][0] - cycled[0][0]).max() > 1e-3


@pytest.mark.parametrize("optimizer_cls", [keras.optimizers.Adam, keras.optimizers.AdamW])
def test_adam_beta_1_cycling_reaches_the_compiled_step(optimizer_cls):
    x, y = data()
    kwargs = {"weight_decay": 0.0} if optimizer_cls is keras.optimizers.AdamW else {}
    finals = []
    for moms in (None, (0.95, 0.6, 0.9)):
        model = linear_model(optimizer_cls(0.01, **kwargs))
        w0, b0 = model.get_weights()
        recorder = Recorder()
        model.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0,
                  callbacks=[OneCycle(0.05, moms=moms), recorder])
        w_ref, b_ref = emulate_adam(x, y, w0, b0, recorder.lrs, recorder.moms)
        np.testing.assert_allclose(model.get_weights()[0], w_ref, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(model.get_weights()[1], b_ref, rtol=1e-4, atol=1e-6)
        finals.append(model.get_weights()[0])
    assert np.abs(finals[0] - finals[1]).max() > 1e-4


def test_later_fit_without_callback_uses_the_restored_float():
    x, y = data()
    model = linear_model(keras.optimizers.SGD(0.01, momentum=0.9))
    model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0,
              callbacks=[OneCycle(0.05)])  # leaves momentum variable at 0.95
    w0, b0 = model.get_weights()
    lr = float(model.optimizer.learning_rate)
    vw, vb = (v.numpy() for v in model.optimizer.momentums)
    model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    w_ref, b_ref = emulate_sgd(x, y, w0, b0, [lr] * 8, [0.9] * 8, vw, vb)
    np.testing.assert_allclose(model.get_weights()[0], w_ref, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(model.get_weights()[1], b_ref, rtol=1e-4, atol=1e-7)


def test_epochs_and_steps_given_explicitly():
    x, y = data()
    model = linear_model(keras.optimizers.SGD(0.01, momentum=0.9))
    recorder = Recorder()
    model.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0,
              callbacks=[OneCycle(0.1, epochs=4, steps_per_epoch=8), recorder])
    expected = [ref_one_cycle(s, 0.004, 0.1, 1e-5, 32) for s in range(16)]
    np.testing.assert_allclose(recorder.lrs, expected, rtol=1e-5)


def test_unknown_steps_per_epoch_is_an_error():
    tf = pytest.importorskip("tensorflow")

    x, y = data()
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH).filter(lambda a, b: True)
    model = linear_model(keras.optimizers.SGD(0.01, momentum=0.9))
    with pytest.raises(ValueError, match="steps_per_epoch"):
        model.fit(dataset, epochs=1, shuffle=False, verbose=0, callbacks=[OneCycle(0.1)])
    model = linear_model(keras.optimizers.SGD(0.01, momentum=0.9))
    model.fit(dataset, epochs=1, shuffle=False, verbose=0,
              callbacks=[OneCycle(0.1, steps_per_epoch=8)])


def test_optimizer_without_momentum_warns_once_and_cycles_lr():
    x, y = data()
    model = linear_model(keras.optimizers.Adagrad(0.01))
    lrs = []

    class LRs(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            lrs.append(float(self.model.optimizer.learning_rate))

    with pytest.warns(UserWarning, match="neither `beta_1` nor `momentum`") as caught:
        history = model.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0,
                            callbacks=[OneCycle(0.1), LRs()])
    assert sum("neither" in str(w.message) for w in caught) == 1
    np.testing.assert_allclose(lrs, [ref_one_cycle(s, 0.004, 0.1, 1e-5, 16) for s in range(16)],
                               rtol=1e-5)
    assert "momentum" not in history.history


def test_sgd_without_momentum_warns():
    x, y = data()
    model = linear_model(keras.optimizers.SGD(0.01))
    with pytest.warns(UserWarning, match="momentum=0"):
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, callbacks=[OneCycle(0.1)])
    assert model.optimizer.momentum == 0.0


def test_learning_rate_schedule_in_optimizer_is_an_error():
    x, y = data()
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    model = linear_model(keras.optimizers.SGD(schedule, momentum=0.9))
    with pytest.raises(ValueError, match="float `learning_rate`"):
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, callbacks=[OneCycle(0.1)])


def test_model_saved_mid_training_loads_with_float_momentum(tmp_path):
    x, y = data()
    model = linear_model(keras.optimizers.SGD(0.01, momentum=0.9))
    path = tmp_path / "mid.keras"
    model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0,
              callbacks=[OneCycle(0.1), keras.callbacks.ModelCheckpoint(str(path))])
    loaded = keras.saving.load_model(path)
    assert loaded.optimizer.get_config()["momentum"] == 0.9
    assert int(loaded.optimizer.iterations) == 16
    assert model.optimizer.get_config()["momentum"] == 0.9


def test_cosine_annealing_matches_warmup_cosine_with_inverse_momentum():
    x, y = data()
    model = linear_model(keras.optimizers.Adam(0.001))
    recorder = Recorder()
    callback = CosineAnnealing(0.02, warmup=0.5, min_lr=0.001, restarts=1, t_mul=1.0,
                               moms=(0.95, 0.85))
    history = model.fit(x, y, batch_size=BATCH, epochs=4, shuffle=False, verbose=0,
                        callbacks=[callback, recorder])
    total = 32
    expected = [ref_warmup_cosine(s, 0.02, total, 4, 0.001, 1, 1.0) for s in range(total)]
    np.testing.assert_allclose(recorder.lrs, expected, rtol=1e-5, atol=1e-8)
    expected_mom = [0.95 - 0.1 * (lr - 0.001) / (0.02 - 0.001) if s >= 4
                    else 0.95 - 0.1 * max(lr - 0.001, 0) / 0.019
                    for s, lr in enumerate(expected)]
    np.testing.assert_allclose(recorder.moms, expected_mom, atol=1e-5)
    assert recorder.lrs[-1] == pytest.approx(0.001, rel=1e-5)
    assert len(history.history["momentum"]) == 4
    assert model.optimizer.beta_1 == 0.9


def test_cosine_annealing_lr_only_leaves_momentum_alone():
    x, y = data()
    model = linear_model(keras.optimizers.SGD(0.01, momentum=0.9))
    recorder = Recorder()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        history = model.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0,
                            callbacks=[CosineAnnealing(0.05), recorder])
    assert recorder.moms == [0.9] * 16
    expected = [ref_warmup_cosine(s, 0.05, 16, 0, 0.0, None, 2.0) for s in range(16)]
    np.testing.assert_allclose(recorder.lrs, expected, rtol=1e-5, atol=1e-8)
    assert history.history["momentum"] == [0.9, 0.9]


def test_cosine_annealing_warmup_longer_than_run():
    with pytest.raises(ValueError, match="warmup=3"):
        CosineAnnealing(0.1, epochs=3, warmup=3)
    x, y = data()
    model = linear_model(keras.optimizers.SGD(0.01, momentum=0.9))
    with pytest.raises(ValueError, match="warmup=2.5"):
        model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0,
                  callbacks=[CosineAnnealing(0.1, warmup=2.5)])


@pytest.mark.parametrize("callback", [
    OneCycle(0.1, epochs=3, moms=(0.9, 0.8, 0.9), anneal="linear"),
    OneCycle(0.1, moms=None),
    CosineAnnealing(0.1, epochs=5, warmup=1, restarts=2, moms=(0.95, 0.85)),
], ids=["one_cycle", "one_cycle_lr_only", "cosine"])
def test_callback_config_round_trip(callback):
    config = keras.saving.serialize_keras_object(callback)
    restored = keras.saving.deserialize_keras_object(config)
    assert type(restored) is type(callback)
    assert restored.get_config() == callback.get_config()
    assert restored.get_state() == {}


@pytest.mark.parametrize("cls,kwargs,received", [
    (OneCycle, dict(max_lr=0), "max_lr=0"),
    (OneCycle, dict(max_lr=-1), "max_lr=-1"),
    (OneCycle, dict(max_lr=math.inf), "max_lr=inf"),
    (OneCycle, dict(max_lr=math.nan), "max_lr=nan"),
    (OneCycle, dict(max_lr=0.1, pct_start=1.5), "pct_start=1.5"),
    (OneCycle, dict(max_lr=0.1, div=0.5), "div=0.5"),
    (OneCycle, dict(max_lr=0.1, moms=(0.9, 0.8)), "moms=(0.9, 0.8)"),
    (OneCycle, dict(max_lr=0.1, epochs=0), "epochs=0"),
    (OneCycle, dict(max_lr=0.1, steps_per_epoch=0), "steps_per_epoch=0"),
    (CosineAnnealing, dict(max_lr=0), "max_lr=0"),
    (CosineAnnealing, dict(max_lr=math.inf), "max_lr=inf"),
    (CosineAnnealing, dict(max_lr=0.1, warmup=-1), "warmup=-1"),
    (CosineAnnealing, dict(max_lr=0.1, min_lr=0.5), "min_lr=0.5"),
    (CosineAnnealing, dict(max_lr=0.1, restarts=-2), "restarts=-2"),
    (CosineAnnealing, dict(max_lr=0.1, moms=(0.9, 0.8, 0.7)), "moms=(0.9, 0.8, 0.7)"),
])
def test_callback_bad_input(cls, kwargs, received):
    with pytest.raises(ValueError, match="Received:") as info:
        cls(**kwargs)
    assert received in str(info.value)


class BatchEndRecorder(keras.callbacks.Callback):
    """Reads back, after each step, the step count, LR and momentum in the optimizer."""

    def __init__(self):
        super().__init__()
        self.steps, self.lrs, self.moms = [], [], []

    def on_train_batch_end(self, batch, logs=None):
        optimizer = self.model.optimizer
        self.steps.append(int(optimizer.iterations))
        self.lrs.append(float(optimizer.learning_rate))
        self.moms.append(momentum_of(optimizer))


def one_cycle_reference(step, total=16):
    return (ref_one_cycle(step, 0.004, 0.1, 1e-5, total),
            ref_one_cycle(step, 0.95, 0.85, 0.95, total))


def cosine_reference(max_lr, warmup_steps, min_lr, restarts, t_mul, total=16):
    def reference(step):
        lr = ref_warmup_cosine(min(step, total - 1), max_lr, total, warmup_steps, min_lr,
                               restarts, t_mul)
        return lr, 0.95 - 0.1 * min(max((lr - min_lr) / (max_lr - min_lr), 0.0), 1.0)

    return reference


SCHEDULED = {
    "one-cycle": (lambda: OneCycle(0.1, moms=(0.95, 0.85, 0.95)), one_cycle_reference),
    "cosine": (lambda: CosineAnnealing(0.05, warmup=0.5, moms=(0.95, 0.85)),
               cosine_reference(0.05, 4, 0.0, None, 2.0)),
    "cosine-restarts": (
        lambda: CosineAnnealing(0.02, min_lr=0.001, restarts=1, t_mul=1.0, moms=(0.95, 0.85)),
        cosine_reference(0.02, 0, 0.001, 1, 1.0)),
}


@pytest.mark.parametrize("callback_cls", [OneCycle, CosineAnnealing])
def test_no_per_batch_python_hook(callback_cls):
    """The values are computed inside the compiled step: no batch hook (so Keras also
    keeps dispatching steps ahead)."""
    for hook in ("on_batch_begin", "on_train_batch_begin", "on_batch_end", "on_train_batch_end"):
        assert getattr(callback_cls, hook) is getattr(keras.callbacks.Callback, hook), hook


@pytest.mark.parametrize("name", list(SCHEDULED))
def test_values_inside_fit_follow_the_schedule(name):
    """After every step the optimizer reports the schedule's values for its step count,
    and the weights are those of SGD run with the schedule's values at each step."""
    make, reference = SCHEDULED[name]
    x, y = data()
    model = linear_model(keras.optimizers.SGD(0.01, momentum=0.9))
    w0, b0 = model.get_weights()
    recorder = BatchEndRecorder()
    model.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0,
              callbacks=[make(), recorder])
    assert recorder.steps == list(range(1, 17))
    expected = np.array([reference(s) for s in recorder.steps])
    np.testing.assert_allclose(recorder.lrs, expected[:, 0], rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(recorder.moms, expected[:, 1], rtol=1e-5)
    used = np.array([reference(s) for s in range(16)])
    w_ref, b_ref = emulate_sgd(x, y, w0, b0, used[:, 0], used[:, 1])
    np.testing.assert_allclose(model.get_weights()[0], w_ref, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], b_ref, rtol=1e-4, atol=1e-6)


def test_every_step_of_an_execution_gets_its_own_values():
    """With `steps_per_execution=4` the four steps of each execution still use their
    own learning rate and momentum (set in the step, not once per execution)."""
    x, y = data()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9), loss="mse", steps_per_execution=4)
    w0, b0 = model.get_weights()
    model.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0,
              callbacks=[OneCycle(0.1)])
    used = np.array([one_cycle_reference(s) for s in range(16)])
    w_ref, b_ref = emulate_sgd(x, y, w0, b0, used[:, 0], used[:, 1])
    np.testing.assert_allclose(model.get_weights()[0], w_ref, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], b_ref, rtol=1e-4, atol=1e-6)


def test_optimizer_variables_and_config_unchanged_during_fit():
    """Checkpoints written during the run hold the same variables as a plain optimizer's,
    and its config reports floats."""
    x, y = data()
    model = linear_model(keras.optimizers.Adam(0.01))
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    before = [v.path for v in model.optimizer.variables]
    seen = []

    class Inspect(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            optimizer = self.model.optimizer
            seen.append(([v.path for v in optimizer.variables], optimizer.get_config()))

    model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0, callbacks=[OneCycle(0.1), Inspect()])
    for paths, config in seen:
        assert paths == before
        assert isinstance(config["learning_rate"], float) and config["beta_1"] == 0.9
