"""Cutout: geometry against an exact enumeration, identity, seeds, dtypes,
serialization and bad input. Backend-neutral (runs under TF and JAX)."""

import keras
import numpy as np
import pytest

from kerasext.layers import Cutout


def to_numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def expected_extent(length, side):
    """Mean clipped extent of `[c - side // 2, c - side // 2 + side)` over the
    `length` centre positions c, counted pixel by pixel (the documented
    geometry, enumerated here independently of the layer's code)."""
    total = 0
    for centre in range(length):
        start = centre - side // 2
        covered = set(range(start, start + side)) & set(range(length))
        total += len(covered)
    return total / length


def erased_boxes(out, fill):
    """Per sample: (erased pixel count, is the erased set one rectangle)."""
    erased = np.all(out == fill, axis=-1)
    counts, rectangles = [], []
    for mask in erased:
        rows, cols = np.nonzero(mask)
        counts.append(mask.sum())
        if mask.sum() == 0:
            rectangles.append(True)
            continue
        box = mask[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        rectangles.append(bool(box.all()))
    return np.array(counts), np.array(rectangles)


@pytest.mark.parametrize(
    "height, width, size, side",
    [(10, 10, 6, 6), (9, 7, 5, 5), (12, 8, 0.5, 4)],
)
def test_erased_fraction_matches_enumeration(height, width, size, side):
    n = 4000
    images = np.ones((n, height, width, 2), "float32")
    out = to_numpy(Cutout(size, seed=7)(images))
    counts, rectangles = erased_boxes(out, 0.0)
    assert rectangles.all()
    expected = (expected_extent(height, side) * expected_extent(width, side)) / (
        height * width
    )
    fractions = counts / (height * width)
    standard_error = fractions.std(ddof=1) / np.sqrt(n)
    assert abs(fractions.mean() - expected) < 3 * standard_error
    # Border clipping really happens (otherwise every box has side**2 pixels).
    assert (counts < side * side).mean() > 0.2
    assert counts.max() == side * side


def test_prob_is_per_sample():
    n = 4000
    images = np.ones((n, 6, 6, 1), "float32")
    out = to_numpy(Cutout(2, prob=0.3, seed=1)(images))
    touched = np.any(out == 0.0, axis=(1, 2, 3))
    standard_error = np.sqrt(0.3 * 0.7 / n)
    assert abs(touched.mean() - 0.3) < 3 * standard_error


def test_identity_when_not_training_or_prob_zero():
    images = np.random.default_rng(0).random((4, 8, 8, 3)).astype("float32")
    np.testing.assert_array_equal(to_numpy(Cutout(4)(images, training=False)), images)
    np.testing.assert_array_equal(to_numpy(Cutout(4, prob=0.0)(images)), images)


def test_same_seed_same_output():
    images = np.random.default_rng(0).random((8, 16, 16, 3)).astype("float32")
    a = to_numpy(Cutout(6, seed=3)(images))
    b = to_numpy(Cutout(6, seed=3)(images))
    c = to_numpy(Cutout(6, seed=4)(images))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("dtype", ["uint8", "float32", "float16"])
def test_dtype_and_fill(dtype):
    images = np.full((6, 8, 8, 3), 200, dtype)
    out = Cutout(4, fill_value=7.0, seed=1)(images)
    assert keras.backend.standardize_dtype(out.dtype) == dtype
    values = np.unique(to_numpy(out))
    assert set(values.tolist()) == {7, 200}


def test_single_image_and_labels_pass_through():
    image = np.ones((8, 8, 3), "float32")
    out = to_numpy(Cutout(4, seed=1)(image))
    assert out.shape == (8, 8, 3) and (out == 0).any()
    labels = np.arange(4)
    images = np.ones((4, 8, 8, 3), "float32")
    out_images, out_labels = Cutout(4)(images, labels)
    np.testing.assert_array_equal(to_numpy(out_labels), labels)
    assert to_numpy(out_images).shape == images.shape
    result = Cutout(4)({"images": images, "labels": labels, "id": labels})
    assert sorted(result) == ["id", "images", "labels"]
    assert Cutout.mixes_labels is False


def test_config_round_trip():
    layer = Cutout(0.25, fill_value=0.5, prob=0.7, seed=3, name="cut")
    config = layer.get_config()
    clone = Cutout.from_config(config)
    assert clone.get_config() == config
    for key, value in {"size": 0.25, "fill_value": 0.5, "prob": 0.7, "seed": 3}.items():
        assert config[key] == value
    images = np.random.default_rng(1).random((4, 16, 16, 3)).astype("float32")
    np.testing.assert_array_equal(to_numpy(layer(images)), to_numpy(clone(images)))


def test_keras_file_round_trip_and_fit(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((32, 8, 8, 3)).astype("float32")
    y = rng.integers(0, 2, 32)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            Cutout(4, seed=1),
            keras.layers.Flatten(),
            keras.layers.Dense(2),
        ]
    )
    model.compile(
        "sgd",
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    path = tmp_path / "cutout.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.layers[0], Cutout)
    assert loaded.layers[0].get_config() == model.layers[0].get_config()
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6
    )


@pytest.mark.parametrize("size", [0, -3, 1.5, 0.0, True, "4"])
def test_bad_size(size):
    with pytest.raises(ValueError, match=r"`size`.*Received: size="):
        Cutout(size)


@pytest.mark.parametrize("prob", [-0.1, 1.5])
def test_bad_prob(prob):
    with pytest.raises(ValueError, match=r"`prob`.*Received: prob="):
        Cutout(4, prob=prob)


def test_size_larger_than_image():
    with pytest.raises(ValueError, match=r"`size`.*width \(6\).*size=7"):
        Cutout(7)(np.ones((2, 8, 6, 3), "float32"))


@pytest.mark.parametrize("shape", [(8, 8), (1, 2, 8, 8, 3)])
def test_bad_rank(shape):
    with pytest.raises(ValueError, match=r"`images`.*Received: images.shape="):
        Cutout(2)(np.ones(shape, "float32"))


def test_labels_batch_mismatch():
    with pytest.raises(ValueError, match=r"`labels`.*labels.shape=\(3,\)"):
        Cutout(2)(np.ones((4, 8, 8, 3), "float32"), np.arange(3))
