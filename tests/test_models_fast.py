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


def test_whitened_stem_decorrelates_the_training_patches(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((40, 16, 16, 3), np.float32)
    images[..., 1] = 0.7 * images[..., 0] + 0.3 * images[..., 1]  # correlated channels
    model = models.build_model("fastnet", (16, 16, 3), 5, width=8, depth=2, whiten=images)
    stem = model.get_layer("whiten")
    assert not stem.trainable and stem.filters == 24 and stem.kernel_size == (2, 2) and stem.strides == (1, 1)
    assert all(w is not stem.kernel for w in model.trainable_weights)
    # An independent computation: the stem's outputs over every 2x2 patch (stride 1, the last
    # row and column padded with zeros) against NumPy's patches with the layer's own weights.
    outputs = keras.Model(model.input, stem.output).predict(images, verbose=0)
    kernel, bias = (np.asarray(w) for w in stem.get_weights())
    padded = np.pad(images, ((0, 0), (0, 1), (0, 1), (0, 0)))
    every = np.stack([padded[:, i:i + 16, j:j + 16] for i in range(2) for j in range(2)], axis=-2)
    np.testing.assert_allclose(outputs, every.reshape(40, 16, 16, 12) @ kernel.reshape(12, 24) + bias,
                               rtol=1e-4, atol=1e-4)
    # Then the activation and a 2x2 max pool halve the side, as the learned stem's stride does.
    pooled = keras.Model(model.input, model.get_layer(index=3).output).predict(images, verbose=0)
    relu = np.maximum(outputs, 0.0).reshape(40, 8, 2, 8, 2, 24).max(axis=(2, 4))
    np.testing.assert_allclose(pooled, relu, rtol=1e-4, atol=1e-4)
    # Over all (stride-1) patches the first 12 filters are white: identity covariance, zero mean.
    patches = np.stack([images[:, i:i + 15, j:j + 15] for i in range(2) for j in range(2)], axis=-2)
    white = patches.reshape(-1, 12) @ kernel.reshape(12, 24)[:, :12] + bias[:12]
    np.testing.assert_allclose(np.cov(white, rowvar=False), np.eye(12), atol=2e-2)
    np.testing.assert_allclose(white.mean(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(kernel[..., 12:], -kernel[..., :12])
    path = str(tmp_path / "whitened.keras")  # a saved model keeps the filters
    model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path).get_layer("whiten").get_weights()[0], kernel)


@pytest.mark.parametrize("family, images, match", [
    ("cnn", np.zeros((2, 16, 16, 3)), "fastnet family only"),
    ("fastnet", np.zeros((2, 8, 8, 3)), "must have the input shape"),
    ("fastnet", np.zeros((16, 16, 3)), "must be images"),
])
def test_whiten_refuses_what_it_cannot_whiten(family, images, match):
    with pytest.raises(ValueError, match=match):
        models.build_model(family, (16, 16, 3), 5, width=8, depth=2, whiten=images)
