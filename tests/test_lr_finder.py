"""LR range test: curve, suggestions, divergence stop, short data, state restore."""

import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasext.callbacks import LRFinder
from kerasext.callbacks import find_lr
from kerasext.callbacks import lr_finder as lr_finder_lib


def regression_data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    y = (x @ rng.normal(size=(8, 1)) + 0.1 * rng.normal(size=(n, 1))).astype("float32")
    return x, y


def small_model(optimizer=None):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((8,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dropout(0.1),
        keras.layers.Dense(1),
    ])
    model.compile(optimizer or keras.optimizers.Adam(1e-3), loss="mse")
    return model


def snapshot(model):
    return ([v.numpy().copy() for v in model.variables],
            [v.numpy().copy() for v in model.optimizer.variables])


def test_find_lr_curve_suggestions_plot_and_restore(tmp_path):
    x, y = regression_data()
    model = small_model()
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)  # non-trivial optimizer state
    before_model, before_optimizer = snapshot(model)
    assert int(model.optimizer.iterations) == 8
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16).repeat()
    plot = tmp_path / "lr.png"
    result = find_lr(model, dataset, start_lr=1e-6, end_lr=10.0, steps=60, plot_path=plot)

    # Exponential sweep: lr_i = start * (end / start) ** (i / (steps - 1)).
    n = len(result.lrs)
    assert 10 < n <= 60 and len(result.losses) == len(result.raw_losses) == n
    expected = [1e-6 * (1e7) ** (i / 59) for i in range(n)]
    np.testing.assert_allclose(result.lrs, expected, rtol=1e-9)
    # Smoothed loss, bias corrected (beta 0.98), from the raw batch losses.
    average, smoothed = 0.0, []
    for i, loss in enumerate(result.raw_losses):
        average = 0.98 * average + 0.02 * loss
        smoothed.append(average / (1 - 0.98 ** (i + 1)))
    np.testing.assert_allclose(result.losses, smoothed, rtol=1e-9)
    # Adam on this problem blows up before lr=10: the test stops at 4x the best.
    assert result.diverged and n < 60
    assert result.losses[-1] > 4 * min(result.losses) or not math.isfinite(result.losses[-1])
    for name in ("valley", "steep", "minimum"):
        assert 1e-6 <= result.suggestions[name] * (10 if name == "minimum" else 1) <= 10
    assert result.valley == result.suggestions["valley"]
    # Suggestions come from the curve before its lowest point, never the blow-up.
    lowest_lr = result.lrs[int(np.argmin(result.losses))]
    assert result.steep <= lowest_lr and result.valley <= lowest_lr
    json.dumps(result.to_dict())
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and result.plot_path == str(plot)

    after_model, after_optimizer = snapshot(model)
    assert len(after_optimizer) == len(before_optimizer)
    for a, b in zip(before_model + before_optimizer, after_model + after_optimizer):
        np.testing.assert_array_equal(a, b)
    assert int(model.optimizer.iterations) == 8
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)


def test_batch_losses_are_per_batch_not_running_means():
    # Batch 0 has targets near 0, batch 1 targets near 100: with lr=1e-9 the
    # weights barely move, so each step's loss is that batch's loss.
    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 8)).astype("float32")
    y = np.concatenate([np.zeros((16, 1)), np.full((16, 1), 100.0)]).astype("float32")
    model = small_model(keras.optimizers.SGD(0.01))
    model.layers[1].rate = 0.0
    first = model.evaluate(x[:16], y[:16], verbose=0)
    second = model.evaluate(x[16:], y[16:], verbose=0)
    finder = LRFinder(start_lr=1e-9, end_lr=1e-8, steps=2)
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=[finder])
    np.testing.assert_allclose(finder.result.raw_losses, [first, second], rtol=1e-3)


def test_short_dataset_warns_with_both_numbers_and_stops_cleanly():
    x, y = regression_data(n=96)
    model = small_model(keras.optimizers.SGD(1e-3, momentum=0.9))
    before_model, before_optimizer = snapshot(model)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)  # 6 batches
    with pytest.warns(UserWarning, match=r"only 6 batches but steps=50"):
        result = find_lr(model, dataset, start_lr=1e-5, end_lr=1e-3, steps=50)
    assert len(result.lrs) == 6 and not result.diverged
    assert result.lrs[-1] == pytest.approx(1e-5 * 100 ** (5 / 49))
    after_model, after_optimizer = snapshot(model)
    for a, b in zip(before_model + before_optimizer, after_model + after_optimizer):
        np.testing.assert_array_equal(a, b)


def test_find_lr_on_arrays_with_batch_size():
    x, y = regression_data(n=128)
    model = small_model(keras.optimizers.SGD(1e-3))
    result = find_lr(model, (x, y), batch_size=8, start_lr=1e-4, end_lr=1e-2, steps=16)
    assert len(result.lrs) == 16 and not result.diverged
    assert result.lrs[-1] == pytest.approx(1e-2)


def test_suggestion_methods_on_known_curves():
    lrs = np.logspace(-5, 0, 11)
    #        0    1    2    3    4    5    6    7    8    9    10
    losses = [2.0, 2.0, 1.9, 1.5, 0.9, 0.6, 0.5, 0.45, 0.6, 1.5, 5.0]
    # Steepest drop per log-lr between points 3 and 4.
    assert lr_finder_lib.suggest_steep(lrs, losses) == pytest.approx(lrs[3])
    assert lr_finder_lib.suggest_minimum(lrs, losses) == pytest.approx(lrs[7] / 10)
    # Longest decreasing run is points 1..7 (length 7): fastai picks
    # max_start + int(L/3) + int(L/6) with max_start = 7 - 7 = 0, L = 7 -> 0 + 2 + 1.
    assert lr_finder_lib.suggest_valley(lrs, losses) == pytest.approx(lrs[3])


def test_suggestions_ignore_a_blow_up_that_settles():
    # Loss falls to 1.0 at lr=1e-2, explodes, then decays fast (dead softmax).
    lrs = list(np.logspace(-6, 1, 36))
    losses = list(np.linspace(2.3, 1.0, 20)) + [3, 6, 7, 6.5, 6, 5.5, 5, 4.5, 4, 3.7, 3.5,
                                                  3.3, 3.2, 3.1, 3.05, 3.0]
    lrs_used, losses_used = lr_finder_lib._trim(lrs, losses, steps=36)
    assert lrs_used == lrs[3:20] and losses_used[-1] == 1.0
    assert lr_finder_lib.suggest_steep(lrs, losses) > lrs[20]  # untrimmed: wrong
    assert lr_finder_lib.suggest_steep(lrs_used, losses_used) < lrs[20]


def test_learning_rate_schedule_is_an_error():
    x, y = regression_data(n=64)
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, 10, 0.5)
    model = small_model(keras.optimizers.SGD(schedule))
    with pytest.raises(ValueError, match="float `learning_rate`"):
        find_lr(model, (x, y), steps=5)


@pytest.mark.parametrize("kwargs,received", [
    (dict(start_lr=1e-3, end_lr=1e-3), "end_lr=0.001"),
    (dict(start_lr=1e-2, end_lr=1e-3), "end_lr=0.001"),
    (dict(start_lr=0), "start_lr=0"),
    (dict(steps=1), "steps=1"),
    (dict(smoothing=1.0), "smoothing=1.0"),
    (dict(diverge_threshold=1.0), "diverge_threshold=1.0"),
])
def test_bad_input(kwargs, received):
    with pytest.raises(ValueError, match="Received:") as info:
        LRFinder(**kwargs)
    assert received in str(info.value)


def test_callback_config_round_trip():
    finder = LRFinder(start_lr=1e-5, end_lr=1.0, steps=20, smoothing=0.9)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(finder))
    assert type(restored) is LRFinder and restored.get_config() == finder.get_config()
