"""kerasext.schedules: config round trips, NumPy references, bad input, saving."""

import math

import keras
import numpy as np
import pytest

from kerasext import schedules

STEPS = [0, 1, 2, 5, 9, 10, 11, 24, 25, 26, 49, 50, 51, 75, 99, 100, 101, 150]


# NumPy references, written from the formulas, not from the library ----------
def ref_one_cycle(step, max_lr, total_steps, pct_start=0.25, div=25.0,
                  div_final=1e4, anneal="cos"):
    def cos(a, b, p):  # fastai's sched_cos
        return a + (1 + math.cos(math.pi * (1 - p))) * (b - a) / 2

    def lin(a, b, p):
        return a + p * (b - a)

    f = cos if anneal == "cos" else lin
    last = total_steps - 1
    peak = pct_start * last
    s = min(max(step, 0), last)
    if s < peak:
        return f(max_lr / div, max_lr, s / peak)
    return f(max_lr, max_lr / div_final, (s - peak) / (last - peak))


def ref_warmup_cosine(step, max_lr, total_steps, warmup_steps=0, min_lr=0.0,
                      restarts=None, t_mul=2.0, m_mul=1.0):
    if step < warmup_steps:
        return max_lr * step / warmup_steps
    decay = total_steps - 1 - warmup_steps
    n = (restarts or 0) + 1
    t0 = decay / n if t_mul == 1 else decay * (t_mul - 1) / (t_mul**n - 1)
    p = min(step - warmup_steps, decay)
    cycle, start, length = 0, 0.0, t0
    while cycle < n - 1 and p >= start + length:  # SGDR: T_cur resets
        start += length
        length *= t_mul
        cycle += 1
    peak = max_lr * m_mul**cycle
    return min_lr + (peak - min_lr) * (1 + math.cos(math.pi * (p - start) / length)) / 2


def ref_cyclical(step, base_lr, max_lr, step_size, mode="triangular", gamma=1.0):
    cycle = np.floor(1 + step / (2 * step_size))
    x = np.abs(step / step_size - 2 * cycle + 1)
    scale = {"triangular": 1.0, "triangular2": 1 / 2 ** (cycle - 1),
             "exp_range": gamma**step}[mode]
    return base_lr + (max_lr - base_lr) * max(0.0, 1 - x) * scale


def ref_step_decay(step, initial_lr, boundaries, factors):
    lr = initial_lr
    for boundary, factor in zip(boundaries, factors):
        if step >= boundary:
            lr = initial_lr * factor
    return lr


def ref_exponential(step, initial, decay_steps, rate):
    return initial * rate ** (step / decay_steps)


def ref_warmup(step, inner, warmup_steps):
    if step < warmup_steps:
        return inner(warmup_steps) * step / warmup_steps
    return inner(step)


CASES = [
    (schedules.OneCycle(0.1, 101),
     lambda s: ref_one_cycle(s, 0.1, 101)),
    (schedules.OneCycle(2.0, 60, pct_start=0.4, div=10.0, div_final=100.0, anneal="linear"),
     lambda s: ref_one_cycle(s, 2.0, 60, 0.4, 10.0, 100.0, "linear")),
    (schedules.WarmupCosine(0.1, 101, warmup_steps=10, min_lr=0.001),
     lambda s: ref_warmup_cosine(s, 0.1, 101, 10, 0.001)),
    (schedules.WarmupCosine(0.1, 101),
     lambda s: ref_warmup_cosine(s, 0.1, 101)),
    (schedules.WarmupCosine(1.0, 81, warmup_steps=10, restarts=2, t_mul=2.0, m_mul=0.5),
     lambda s: ref_warmup_cosine(s, 1.0, 81, 10, 0.0, 2, 2.0, 0.5)),
    (schedules.WarmupCosine(1.0, 101, restarts=3, t_mul=1.0, min_lr=0.1),
     lambda s: ref_warmup_cosine(s, 1.0, 101, 0, 0.1, 3, 1.0)),
    (schedules.Cyclical(0.001, 0.01, 10),
     lambda s: ref_cyclical(s, 0.001, 0.01, 10)),
    (schedules.Cyclical(0.001, 0.01, 7, mode="triangular2"),
     lambda s: ref_cyclical(s, 0.001, 0.01, 7, "triangular2")),
    (schedules.Cyclical(0.0, 1.0, 10, mode="exp_range", gamma=0.99),
     lambda s: ref_cyclical(s, 0.0, 1.0, 10, "exp_range", 0.99)),
    (schedules.StepDecay(0.1, [10, 25, 50], [0.5, 0.1, 0.01]),
     lambda s: ref_step_decay(s, 0.1, [10, 25, 50], [0.5, 0.1, 0.01])),
    (schedules.Warmup(keras.optimizers.schedules.ExponentialDecay(0.1, 20, 0.5), 10),
     lambda s: ref_warmup(s, lambda t: ref_exponential(t, 0.1, 20, 0.5), 10)),
    (schedules.Warmup(schedules.OneCycle(0.1, 101), 5),
     lambda s: ref_warmup(s, lambda t: ref_one_cycle(t, 0.1, 101), 5)),
    (schedules.Warmup(0.3, 4),
     lambda s: ref_warmup(s, lambda t: 0.3, 4)),
]
IDS = [f"{type(c[0]).__name__}-{i}" for i, c in enumerate(CASES)]


def values(schedule, steps=STEPS):
    return np.array([float(schedule(s)) for s in steps])


@pytest.mark.parametrize("schedule,reference", CASES, ids=IDS)
def test_config_round_trip(schedule, reference):
    config = keras.saving.serialize_keras_object(schedule)
    restored = keras.saving.deserialize_keras_object(config)
    assert type(restored) is type(schedule)
    assert restored.get_config() == schedule.get_config()
    np.testing.assert_array_equal(values(restored), values(schedule))
    # The constructor is the config.
    assert type(schedule).from_config(schedule.get_config()).get_config() == schedule.get_config()


def test_registered_names_do_not_collide_with_callbacks():
    import kerasext.callbacks  # registers the OneCycle callback too

    assert keras.saving.get_registered_object("kerasext>OneCycle") is schedules.OneCycle
    assert (keras.saving.get_registered_object("kerasext>OneCycleCallback")
            is kerasext.callbacks.OneCycle)
    config = keras.saving.serialize_keras_object(schedules.OneCycle(0.1, 10))
    assert type(keras.saving.deserialize_keras_object(config)) is schedules.OneCycle


@pytest.mark.parametrize("schedule,reference", CASES, ids=IDS)
def test_matches_numpy_reference(schedule, reference):
    expected = np.array([reference(s) for s in STEPS])
    np.testing.assert_allclose(values(schedule), expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("schedule,reference", CASES, ids=IDS)
def test_accepts_int64_tensor_step(schedule, reference):
    step = keras.ops.convert_to_tensor(37, dtype="int64")
    np.testing.assert_allclose(float(schedule(step)), reference(37), rtol=1e-5, atol=1e-7)


def test_one_cycle_start_peak_end():
    schedule = schedules.OneCycle(max_lr=0.1, total_steps=101, pct_start=0.25, div=25.0,
                                  div_final=1e4)
    np.testing.assert_allclose(float(schedule(0)), 0.1 / 25, rtol=1e-6)
    np.testing.assert_allclose(float(schedule(25)), 0.1, rtol=1e-6)  # 0.25 * 100
    np.testing.assert_allclose(float(schedule(100)), 0.1 / 1e4, rtol=1e-5)
    np.testing.assert_allclose(float(schedule(1000)), 0.1 / 1e4, rtol=1e-5)
    curve = values(schedule, range(101))
    assert np.all(np.diff(curve[:26]) > 0) and np.all(np.diff(curve[25:]) < 0)
    assert curve.max() == pytest.approx(0.1, rel=1e-6)


def test_one_cycle_momentum_is_inverse():
    moms = (0.95, 0.85, 0.9)
    lo, hi, end = 0.1 / 25, 0.1, 0.1 / 1e4
    lr = schedules.OneCycle(0.1, 101)
    for step in (0, 10, 25, 40, 60, 100):
        value = float(schedules.one_cycle_momentum(step, 101, moms))
        fraction_lr = float(lr(step))
        if step <= 25:  # Same fraction of its range as the learning rate, mirrored.
            expected = moms[0] - (moms[0] - moms[1]) * (fraction_lr - lo) / (hi - lo)
        else:
            expected = moms[2] - (moms[2] - moms[1]) * (fraction_lr - end) / (hi - end)
        np.testing.assert_allclose(value, expected, atol=1e-6)
    np.testing.assert_allclose(
        [float(schedules.one_cycle_momentum(s, 101, moms)) for s in (0, 25, 100)],
        moms, atol=1e-7)


def test_warmup_cosine_anchor_values():
    schedule = schedules.WarmupCosine(0.1, 101, warmup_steps=10, min_lr=0.001)
    assert float(schedule(0)) == 0.0
    np.testing.assert_allclose(float(schedule(5)), 0.05, rtol=1e-6)
    np.testing.assert_allclose(float(schedule(10)), 0.1, rtol=1e-6)
    np.testing.assert_allclose(float(schedule(100)), 0.001, rtol=1e-5)
    np.testing.assert_allclose(float(schedule(500)), 0.001, rtol=1e-5)


def test_warmup_cosine_restarts_are_sgdr_cycles():
    # 70 annealing steps, 3 cycles growing x2: 10, 20, 40 steps; peaks x0.5.
    schedule = schedules.WarmupCosine(1.0, 71, restarts=2, t_mul=2.0, m_mul=0.5)
    np.testing.assert_allclose(values(schedule, [0, 10, 30, 70]), [1.0, 0.5, 0.25, 0.0],
                               atol=1e-6)
    assert float(schedule(9)) < 0.03 and float(schedule(29)) < 0.01
    np.testing.assert_allclose(float(schedule(20)), 0.5 * 0.5, atol=1e-6)  # mid-cycle 2


def test_cyclical_anchor_values():
    schedule = schedules.Cyclical(0.001, 0.01, 10, mode="triangular2")
    np.testing.assert_allclose(values(schedule, [0, 10, 20, 30, 40, 50]),
                               [0.001, 0.01, 0.001, 0.0055, 0.001, 0.00325], rtol=1e-5)


def test_step_decay_switches_at_the_boundary():
    schedule = schedules.StepDecay(1.0, [3, 6], [0.1, 0.01])
    np.testing.assert_allclose(values(schedule, range(8)),
                               [1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01], rtol=1e-6)


def test_warmup_serializes_the_inner_schedule():
    inner = schedules.WarmupCosine(0.1, 50, min_lr=0.01)
    config = schedules.Warmup(inner, 5).get_config()
    assert config["schedule"]["class_name"] == "WarmupCosine"
    assert config["schedule"]["config"] == inner.get_config()
    assert schedules.Warmup.from_config(config).schedule.get_config() == inner.get_config()


BAD = [
    (schedules.OneCycle, dict(max_lr=-1, total_steps=10), "max_lr=-1"),
    (schedules.OneCycle, dict(max_lr=0, total_steps=10), "max_lr=0"),
    (schedules.OneCycle, dict(max_lr=0.1, total_steps=0), "total_steps=0"),
    (schedules.OneCycle, dict(max_lr=0.1, total_steps=10.5), "total_steps=10.5"),
    (schedules.OneCycle, dict(max_lr=0.1, total_steps=10, pct_start=0.0), "pct_start=0.0"),
    (schedules.OneCycle, dict(max_lr=0.1, total_steps=10, pct_start=1.0), "pct_start=1.0"),
    (schedules.OneCycle, dict(max_lr=0.1, total_steps=10, div=1.0), "div=1.0"),
    (schedules.OneCycle, dict(max_lr=0.1, total_steps=10, div_final=0), "div_final=0"),
    (schedules.OneCycle, dict(max_lr=0.1, total_steps=10, anneal="exp"), "anneal='exp'"),
    (schedules.WarmupCosine, dict(max_lr=0, total_steps=10), "max_lr=0"),
    (schedules.WarmupCosine, dict(max_lr=0.1, total_steps=0), "total_steps=0"),
    (schedules.WarmupCosine, dict(max_lr=0.1, total_steps=10, warmup_steps=10),
     "warmup_steps=10"),
    (schedules.WarmupCosine, dict(max_lr=0.1, total_steps=10, warmup_steps=-1),
     "warmup_steps=-1"),
    (schedules.WarmupCosine, dict(max_lr=0.1, total_steps=10, min_lr=0.2), "min_lr=0.2"),
    (schedules.WarmupCosine, dict(max_lr=0.1, total_steps=10, restarts=-1), "restarts=-1"),
    (schedules.WarmupCosine, dict(max_lr=0.1, total_steps=10, restarts=20), "restarts=20"),
    (schedules.WarmupCosine, dict(max_lr=0.1, total_steps=10, t_mul=0), "t_mul=0"),
    (schedules.WarmupCosine, dict(max_lr=0.1, total_steps=10, m_mul=-1), "m_mul=-1"),
    (schedules.Cyclical, dict(base_lr=-1, max_lr=0.1, step_size=5), "base_lr=-1"),
    (schedules.Cyclical, dict(base_lr=0.1, max_lr=0.1, step_size=5), "max_lr=0.1"),
    (schedules.Cyclical, dict(base_lr=0.01, max_lr=0.1, step_size=0), "step_size=0"),
    (schedules.Cyclical, dict(base_lr=0.01, max_lr=0.1, step_size=5, mode="sine"),
     "mode='sine'"),
    (schedules.Cyclical, dict(base_lr=0.01, max_lr=0.1, step_size=5, gamma=1.5),
     "gamma=1.5"),
    (schedules.StepDecay, dict(initial_lr=0, boundaries=[1], factors=[0.1]), "initial_lr=0"),
    (schedules.StepDecay, dict(initial_lr=0.1, boundaries=[10, 5], factors=[0.1, 0.01]),
     "boundaries=[10, 5]"),
    (schedules.StepDecay, dict(initial_lr=0.1, boundaries=[10, 10], factors=[0.1, 0.01]),
     "boundaries=[10, 10]"),
    (schedules.StepDecay, dict(initial_lr=0.1, boundaries=[], factors=[]), "boundaries=[]"),
    (schedules.StepDecay, dict(initial_lr=0.1, boundaries=[10, 20], factors=[0.1]),
     "factors=[0.1]"),
    (schedules.StepDecay, dict(initial_lr=0.1, boundaries=[10], factors=[0.1, 0.01]),
     "factors=[0.1, 0.01]"),
    (schedules.StepDecay, dict(initial_lr=0.1, boundaries=[10], factors=[-0.1]),
     "factors=[-0.1]"),
    (schedules.Warmup, dict(schedule="fast", warmup_steps=5), "schedule='fast'"),
    (schedules.Warmup, dict(schedule=0.1, warmup_steps=-5), "warmup_steps=-5"),
]


@pytest.mark.parametrize("cls,kwargs,received", BAD, ids=[b[2] for b in BAD])
def test_bad_input_names_argument_and_value(cls, kwargs, received):
    with pytest.raises(ValueError, match="Received:") as info:
        cls(**kwargs)
    message = str(info.value)
    assert received in message
    assert f"`{received.split('=')[0]}`" in message


def test_one_cycle_momentum_bad_input():
    with pytest.raises(ValueError, match=r"moms=\(0.9, 0.8\)"):
        schedules.one_cycle_momentum(0, 10, moms=(0.9, 0.8))
    with pytest.raises(ValueError, match="total_steps=0"):
        schedules.one_cycle_momentum(0, 0)


SAVE_CASES = [
    schedules.OneCycle(0.05, 40),
    schedules.WarmupCosine(0.05, 40, warmup_steps=5, restarts=1),
    schedules.Cyclical(0.001, 0.05, 5, mode="triangular2"),
    schedules.StepDecay(0.05, [8, 16], [0.5, 0.1]),
    schedules.Warmup(schedules.StepDecay(0.05, [20], [0.1]), 6),
]


def _model(schedule):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(learning_rate=schedule, momentum=0.9), loss="mse")
    return model


@pytest.mark.parametrize("schedule", SAVE_CASES, ids=lambda s: type(s).__name__)
def test_saved_with_compiled_model_and_continues_exactly(schedule, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True).astype("float32")
    model = _model(schedule)
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)  # 16 steps
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    lr_schedule = loaded.optimizer._learning_rate  # what the optimizer holds
    assert type(lr_schedule) is type(schedule)
    assert lr_schedule.get_config() == schedule.get_config()
    assert int(loaded.optimizer.iterations) == 16
    np.testing.assert_allclose(float(loaded.optimizer.learning_rate),
                               float(schedule(16)), rtol=1e-6)
    # Both continue for the same steps: same learning rates, same weights.
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    loaded.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert int(loaded.optimizer.iterations) == 24
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("module", ["one_cycle", "warmup_cosine", "cyclical", "step_decay",
                                    "warmup"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    mod = importlib.import_module(f"kerasext.schedules.{module}")
    result = doctest.testmod(mod, extraglobs={"keras": keras}, verbose=False)
    assert result.attempted > 0 and result.failed == 0
