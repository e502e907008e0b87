"""The `fastnet` family of `kerasext.models.build_model` (the CIFAR time-to-accuracy recipe's model)."""

import numpy as np
import pytest

import keras

from kerasext import models


def test_fastnet_is_a_family():
    assert "fastnet" in models.FAMILIES


def test_fastnet_shapes_and_layout():
    model = models.build_model("fastnet", (32, 32, 3), 10, width=8)
    assert model.output_shape == (None, 10)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    # stem (half width, stride 2) + 2 convs per group, doubling: 4, 8, 8, 16, 16, 32, 32
    assert [c.filters for c in convs] == [4, 8, 8, 16, 16, 32, 32]
    assert convs[0].strides == (2, 2) and not any(c.use_bias for c in convs)
    assert sum(isinstance(layer, keras.layers.MaxPooling2D) for layer in model.layers) == 3
    probabilities = model.predict(np.random.default_rng(0).random((4, 32, 32, 3), np.float32), verbose=0)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-5)


def test_fastnet_same_seed_same_weights_and_depth():
    a = models.build_model("fastnet", (16, 16, 3), 5, width=4, depth=2, seed=3)
    b = models.build_model("fastnet", (16, 16, 3), 5, width=4, depth=2, seed=3)
    c = models.build_model("fastnet", (16, 16, 3), 5, width=4, depth=2, seed=4)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert any(not np.array_equal(wa, wc) for wa, wc in zip(a.get_weights(), c.get_weights()))
    assert sum(isinstance(layer, keras.layers.Conv2D) for layer in a.layers) == 5


def test_fastnet_save_load_round_trip(tmp_path):
    model = models.build_model("fastnet", (8, 8, 1), 3, width=4)
    x = np.random.default_rng(1).random((2, 8, 8, 1), np.float32)
    path = str(tmp_path / "fastnet.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_fastnet_trains_a_step():
    model = models.build_model("fastnet", (8, 8, 3), 2, width=4)
    model.compile("sgd", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    history = model.fit(rng.random((8, 8, 8, 3), np.float32), rng.integers(0, 2, 8), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_fastnet_needs_images():
    with pytest.raises(ValueError, match="fastnet family needs images"):
        models.build_model("fastnet", (20,), 3)
