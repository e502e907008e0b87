"""RandomShift: whole-pixel translation against NumPy (np.pad + slicing) and
against Keras' RandomTranslation with nearest interpolation; identity,
dtypes, serialization, keyed draws and bad input. Backend-neutral (runs
under TF and JAX)."""

import keras
import numpy as np
import pytest

from kerasext.layers import RandomShift

NP_MODES = {"reflect": "symmetric", "constant": "constant"}  # Keras name -> np.pad's


def to_numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def numpy_shift(images, dy, dx, fill_mode, fill_value=0.0):
    """Pads each image by its own size (np.pad), then slices the window that
    puts input pixel `(y - dy, x - dx)` at `(y, x)`."""
    _, height, width, _ = images.shape
    out = np.empty_like(images)
    for i, image in enumerate(images):
        pad = ((height, height), (width, width), (0, 0))
        if fill_mode == "constant":
            padded = np.pad(image, pad, mode="constant", constant_values=fill_value)
        else:
            padded = np.pad(image, pad, mode=NP_MODES[fill_mode])
        top, left = height - dy[i], width - dx[i]
        out[i] = padded[top : top + height, left : left + width]
    return out


def random_images(shape, dtype="float32", seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, shape).astype(dtype)


def test_numpy_reference_is_keras_reflect():
    # The reference itself: Keras' reflect is `d c b a | a b c d | d c b a`.
    row = np.array([1, 2, 3, 4]).reshape(1, 1, 4, 1)
    np.testing.assert_array_equal(numpy_shift(row, [0], [2], "reflect")[0, 0, :, 0], [2, 1, 1, 2])
    np.testing.assert_array_equal(numpy_shift(row, [0], [-4], "reflect")[0, 0, :, 0], [4, 3, 2, 1])


@pytest.mark.parametrize("fill_mode", ["reflect", "constant"])
@pytest.mark.parametrize(
    "factors, shift",  # factors forcing a known shift on a 4x8 image
    [
        (((0.25, 0.25), (0.25, 0.25)), (1, 2)),
        (((-0.5, -0.5), (0.125, 0.125)), (-2, 1)),
        (((1.0, 1.0), (-1.0, -1.0)), (4, -8)),  # the whole image: all fill
        ((0.0, (-0.375, -0.375)), (0, -3)),
    ],
)
def test_forced_shift_equals_numpy(fill_mode, factors, shift):
    images = random_images((3, 4, 8, 2))
    layer = RandomShift(*factors, fill_mode=fill_mode, fill_value=7.0, seed=1)
    out = to_numpy(layer(images))
    n = len(images)
    expected = numpy_shift(images, [shift[0]] * n, [shift[1]] * n, fill_mode, 7.0)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("fill_mode", ["reflect", "constant"])
@pytest.mark.parametrize("factors", [(0.1, 0.1), (0.5, 1.0), ((-0.3, 0.7), (0.9, -0.2))])
def test_drawn_offsets_equal_numpy(fill_mode, factors):
    # `_offsets` of a fresh layer with the same seed are the offsets the
    # first call draws.
    images = random_images((32, 13, 11, 3))
    out = to_numpy(RandomShift(*factors, fill_mode=fill_mode, fill_value=3.0, seed=5)(images))
    dy, dx = (to_numpy(o) for o in RandomShift(*factors, seed=5)._offsets(32, 13, 11))
    assert dy.dtype == dx.dtype == np.int32
    np.testing.assert_array_equal(out, numpy_shift(images, dy, dx, fill_mode, 3.0))
    # Offsets really vary per image and stay within the factors' bounds.
    for offsets, factor, extent in ((dy, factors[0], 13), (dx, factors[1], 11)):
        lower, upper = sorted(factor) if isinstance(factor, tuple) else (-factor, factor)
        assert len(set(offsets.tolist())) >= 3
        assert np.all(offsets >= np.round(lower * extent))
        assert np.all(offsets <= np.round(upper * extent))


def test_offsets_are_uniform_fractions_rounded():
    # dy = round(u * height), u uniform in [-0.5, 0.5], on a 10-pixel side:
    # offsets -5..5, each interior one with probability 1/10, the two ends
    # (|10 u| >= 4.5) with 1/20, as RandomTranslation's nearest pixel.
    n = 20000
    dy, _ = (to_numpy(o) for o in RandomShift(0.5, 0.0, seed=2)._offsets(n, 10, 10))
    counts = np.bincount(dy + 5, minlength=11) / n
    expected = np.array([0.5] + [1.0] * 9 + [0.5]) / 10
    np.testing.assert_allclose(counts, expected, atol=4 * np.sqrt(0.1 * 0.9 / n))


@pytest.mark.parametrize("fill_mode", ["reflect", "constant"])
@pytest.mark.parametrize("factors", [((0.25, 0.25), (-0.5, -0.5)), ((-0.75, -0.75), (1.0, 1.0))])
def test_forced_shift_equals_keras_random_translation_nearest(fill_mode, factors):
    images = random_images((3, 4, 8, 3))
    ours = RandomShift(*factors, fill_mode=fill_mode, fill_value=5.0, seed=1)
    keras_layer = keras.layers.RandomTranslation(
        *factors, fill_mode=fill_mode, fill_value=5.0, interpolation="nearest", seed=1
    )
    np.testing.assert_array_equal(to_numpy(ours(images)), to_numpy(keras_layer(images)))


@pytest.mark.parametrize("fill_mode", ["reflect", "constant"])
def test_same_seed_same_images_as_keras_random_translation_nearest(fill_mode):
    # Same draws (as documented), rounded: the same images as Keras' layer
    # with nearest interpolation, at random fractional offsets too.
    images = random_images((16, 13, 11, 3))
    for factor in (0.1, 0.5, 1.0, (-0.3, 0.7)):
        ours = RandomShift(factor, factor, fill_mode=fill_mode, seed=7)
        keras_layer = keras.layers.RandomTranslation(
            factor, factor, fill_mode=fill_mode, interpolation="nearest", seed=7
        )
        for _ in range(2):  # and the generators advance alike
            np.testing.assert_array_equal(to_numpy(ours(images)), to_numpy(keras_layer(images)))


@pytest.mark.parametrize("dtype", ["uint8", "float32", "float16", "int32"])
def test_shape_and_dtype_kept(dtype):
    images = random_images((5, 9, 7, 3), dtype)
    for fill_mode in ("reflect", "constant"):
        out = RandomShift(0.3, 0.3, fill_mode=fill_mode, fill_value=255, seed=3)(images)
        assert keras.backend.standardize_dtype(out.dtype) == dtype
        assert tuple(out.shape) == images.shape
        dy, dx = (to_numpy(o) for o in RandomShift(0.3, 0.3, seed=3)._offsets(5, 9, 7))
        np.testing.assert_array_equal(to_numpy(out), numpy_shift(images, dy, dx, fill_mode, 255))


def test_identity_when_not_training():
    images = random_images((4, 8, 8, 3), "uint8")
    out = RandomShift(0.5, 0.5, seed=1)(images, training=False)
    np.testing.assert_array_equal(to_numpy(out), images)
    assert keras.backend.standardize_dtype(out.dtype) == "uint8"


def test_single_image_and_labels_pass_through():
    image = random_images((8, 6, 3))
    out = to_numpy(RandomShift((0.25, 0.25), (0.5, 0.5), seed=1)(image))
    np.testing.assert_array_equal(out, numpy_shift(image[None], [2], [3], "reflect")[0])
    labels = np.arange(4)
    images = random_images((4, 8, 8, 3))
    out_images, out_labels = RandomShift(0.2, 0.2)(images, labels)
    np.testing.assert_array_equal(to_numpy(out_labels), labels)
    assert to_numpy(out_images).shape == images.shape
    result = RandomShift(0.2, 0.2)({"images": images, "labels": labels, "id": labels})
    assert sorted(result) == ["id", "images", "labels"]
    assert RandomShift.mixes_labels is False


def test_same_seed_same_output_and_draws_advance():
    images = random_images((8, 16, 16, 3))
    a, b, c = (RandomShift(0.2, 0.2, seed=s) for s in (3, 3, 4))
    first = to_numpy(a(images))
    np.testing.assert_array_equal(first, to_numpy(b(images)))
    assert not np.array_equal(first, to_numpy(c(images)))
    assert not np.array_equal(first, to_numpy(a(images)))  # a new draw per call


def test_config_round_trip():
    layer = RandomShift((-0.1, 0.3), 0.2, fill_mode="constant", fill_value=0.5, seed=3, name="sh")
    config = layer.get_config()
    expected = {
        "height_factor": (-0.1, 0.3),
        "width_factor": 0.2,
        "fill_mode": "constant",
        "fill_value": 0.5,
        "seed": 3,
    }
    assert {k: config[k] for k in expected} == expected
    clone = RandomShift.from_config(config)
    assert clone.get_config() == config
    images = random_images((6, 10, 10, 3))
    for _ in range(2):
        np.testing.assert_array_equal(to_numpy(layer(images)), to_numpy(clone(images)))
    rebuilt = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(RandomShift.from_config(config))
    )
    assert type(rebuilt) is RandomShift
    np.testing.assert_array_equal(
        to_numpy(rebuilt(images)), to_numpy(RandomShift.from_config(config)(images))
    )


def test_keras_file_round_trip_and_fit(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((32, 8, 8, 3)).astype("float32")
    y = rng.integers(0, 2, 32)
    model = keras.Sequential(
        [keras.Input((8, 8, 3)), RandomShift(0.25, 0.25, seed=1), keras.layers.Flatten(),
         keras.layers.Dense(2)]
    )
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    path = tmp_path / "shift.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.layers[0], RandomShift)
    assert loaded.layers[0].get_config() == model.layers[0].get_config()
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.data: TensorFlow backend")
@pytest.mark.parametrize("xla", [True, False])
def test_tf_data_map_with_unknown_batch(xla, monkeypatch):
    # In a tf.data graph (XLA-compiled by default, KERASEXT_XLA=0 not), with
    # an unknown batch size and a short last batch: the NumPy result for the
    # offsets a same-seed layer draws batch after batch.
    import tensorflow as tf

    monkeypatch.setenv("KERASEXT_XLA", "1" if xla else "0")
    images = random_images((11, 9, 7, 3), "uint8")
    for fill_mode in ("reflect", "constant"):
        layer = RandomShift(0.4, 0.4, fill_mode=fill_mode, fill_value=9, seed=2)
        ds = tf.data.Dataset.from_tensor_slices((images, np.arange(11))).batch(4).map(layer)
        got = np.concatenate([to_numpy(x) for x, _ in ds])
        twin, expected = RandomShift(0.4, 0.4, seed=2), []
        for start in range(0, 11, 4):
            batch = images[start : start + 4]
            dy, dx = (to_numpy(o) for o in twin._offsets(len(batch), 9, 7))
            expected.append(numpy_shift(batch, dy, dx, fill_mode, 9))
        np.testing.assert_array_equal(got, np.concatenate(expected))


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.data: TensorFlow backend")
def test_keyed_draws_in_the_data_pipeline():
    # kerasext.data swaps the layer's seed generator for keyed stateless
    # draws: the same (seed, epoch, batch) gives the same images, whatever
    # ran before, and other batches get other offsets.
    import tensorflow as tf

    from kerasext.data.augment import augment_numbered

    images = random_images((8, 12, 12, 3), "uint8")
    base = tf.data.Dataset.from_tensor_slices((images, np.arange(8))).batch(4)
    numbered = base.enumerate().map(lambda b, xy: (xy[0], xy[1], tf.constant(0, tf.int64), b))

    def run(layer):
        return [to_numpy(x) for x, _ in augment_numbered(numbered, [layer], seed=1)]

    first = run(RandomShift(0.3, 0.3))
    used = RandomShift(0.3, 0.3)
    used(images)  # advances its own generator: no effect on keyed draws
    again = run(used)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])
    assert not np.array_equal(first[0], images[:4])


@pytest.mark.parametrize(
    "name, value",
    [("height_factor", 1.5), ("height_factor", (0.1, 0.2, 0.3)), ("height_factor", "0.1"),
     ("height_factor", True), ("width_factor", (0.1, -1.2)), ("width_factor", float("nan")),
     ("width_factor", None)],
)
def test_bad_factor(name, value):
    args = {"height_factor": 0.1, "width_factor": 0.1, name: value}
    with pytest.raises(ValueError, match=rf"`{name}`.*Received: {name}="):
        RandomShift(**args)


def test_bad_fill():
    with pytest.raises(ValueError, match=r"`fill_mode`.*Received: fill_mode='wrap'"):
        RandomShift(0.1, 0.1, fill_mode="wrap")
    with pytest.raises(ValueError, match=r"`fill_value`.*Received: fill_value=inf"):
        RandomShift(0.1, 0.1, fill_value=float("inf"))
    layer = RandomShift(0.1, 0.1, fill_mode="constant", fill_value=300)
    with pytest.raises(ValueError, match=r"`fill_value`.*uint8.*Received: fill_value=300"):
        layer(np.zeros((2, 4, 4, 3), "uint8"))
    # Unused in reflect mode: no range check there.
    RandomShift(0.1, 0.1, fill_value=300)(np.zeros((2, 4, 4, 3), "uint8"))


@pytest.mark.parametrize("shape", [(8, 8), (1, 2, 8, 8, 3)])
def test_bad_rank(shape):
    with pytest.raises(ValueError, match=r"`images`.*Received: images.shape="):
        RandomShift(0.1, 0.1)(np.ones(shape, "float32"))
