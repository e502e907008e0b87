"""Losses against NumPy reference formulas and Keras' own losses, stability at
logits of +-1e4 and in float16 / bfloat16, mixed precision training,
serialization and bad input. Backend-neutral (TF and JAX)."""

import keras
import numpy as np
import pytest

from kerasext.losses import (
    BinaryFocalLoss,
    FocalLoss,
    LabelSmoothingCrossEntropy,
    binary_focal_loss,
    focal_loss,
    label_smoothing_cross_entropy,
)

EPS = 1e-7  # keras.config.epsilon(), the probability clip


def to_numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype="float64")


# ---------------------------------------------------------------- references


def np_log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def np_log_probs(y_pred, from_logits):
    if from_logits:
        log_p = np_log_softmax(y_pred)
        return log_p, np.exp(log_p)
    p = y_pred / y_pred.sum(axis=-1, keepdims=True)
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p), p


def np_focal(y, y_pred, gamma, alpha, from_logits, smoothing):
    classes = y_pred.shape[-1]
    y = y * (1 - smoothing) + smoothing / classes
    log_p, p = np_log_probs(y_pred, from_logits)
    weight = 1.0 if alpha is None else np.asarray(alpha)
    return -(weight * (1 - p) ** gamma * y * log_p).sum(axis=-1)


def np_binary_focal(y, y_pred, gamma, alpha, from_logits, smoothing):
    y = y * (1 - smoothing) + 0.5 * smoothing
    if from_logits:
        p = 1 / (1 + np.exp(-y_pred))
        log_p, log_q = -np.logaddexp(0, -y_pred), -np.logaddexp(0, y_pred)
    else:
        p = np.clip(y_pred, EPS, 1 - EPS)
        log_p, log_q = np.log(p), np.log(1 - p)
    p_t = y * p + (1 - y) * (1 - p)
    weight = 1.0
    if alpha is not None:
        a = np.asarray(alpha)
        weight = y * a + (1 - y) * (1 - a)
    terms = -weight * (1 - p_t) ** gamma * (y * log_p + (1 - y) * log_q)
    return terms.mean(axis=-1)


def np_smoothed_ce(y, y_pred, smoothing, from_logits):
    y = y * (1 - smoothing) + smoothing / y_pred.shape[-1]
    log_p, _ = np_log_probs(y_pred, from_logits)
    return -(y * log_p).sum(axis=-1)


# ---------------------------------------------------------------- data

RNG = np.random.default_rng(0)
N, C = 12, 5
LOGITS = RNG.normal(0, 2, (N, C)).astype("float32")
PROBS = np.exp(np_log_softmax(LOGITS.astype("float64"))).astype("float32")
INT_LABELS = RNG.integers(0, C, N)
ONE_HOT = np.eye(C, dtype="float32")[INT_LABELS]
SOFT = RNG.dirichlet(np.ones(C), N).astype("float32")

LABEL_FORMS = {
    "int": (INT_LABELS, ONE_HOT),
    "int-column": (INT_LABELS[:, None], ONE_HOT),
    "float-int": (INT_LABELS.astype("float32"), ONE_HOT),
    "one-hot": (ONE_HOT, ONE_HOT),
    "soft": (SOFT, SOFT),
}


@pytest.mark.parametrize("form", LABEL_FORMS)
@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize(
    "gamma, alpha, smoothing",
    [(2.0, None, 0.0), (0.5, 0.25, 0.1), (3.0, [0.1, 0.2, 0.3, 0.2, 0.2], 0.0)],
)
def test_focal_matches_numpy(form, from_logits, gamma, alpha, smoothing):
    y, dense = LABEL_FORMS[form]
    y_pred = LOGITS if from_logits else PROBS
    ours = focal_loss(
        y,
        y_pred,
        gamma=gamma,
        alpha=alpha,
        from_logits=from_logits,
        label_smoothing=smoothing,
    )
    expected = np_focal(
        dense.astype("float64"),
        y_pred.astype("float64"),
        gamma,
        alpha,
        from_logits,
        smoothing,
    )
    np.testing.assert_allclose(to_numpy(ours), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("from_logits", [True, False])
def test_focal_gamma_zero_is_cross_entropy(from_logits):
    y_pred = LOGITS if from_logits else PROBS
    ours = to_numpy(focal_loss(INT_LABELS, y_pred, gamma=0.0, from_logits=from_logits))
    dense = to_numpy(focal_loss(ONE_HOT, y_pred, gamma=0.0, from_logits=from_logits))
    keras_dense = to_numpy(
        keras.losses.categorical_crossentropy(ONE_HOT, y_pred, from_logits=from_logits)
    )
    keras_sparse = to_numpy(
        keras.losses.sparse_categorical_crossentropy(
            INT_LABELS, y_pred, from_logits=from_logits
        )
    )
    np.testing.assert_allclose(ours, keras_sparse, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dense, keras_dense, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize(
    "gamma, alpha, smoothing", [(2.0, 0.25, 0.0), (1.0, None, 0.1), (0.0, 0.5, 0.2)]
)
def test_focal_equals_keras_categorical_focal(from_logits, gamma, alpha, smoothing):
    y_pred = LOGITS if from_logits else PROBS
    reference = keras.losses.CategoricalFocalCrossentropy(
        alpha=1.0 if alpha is None else alpha,
        gamma=gamma,
        from_logits=from_logits,
        label_smoothing=smoothing,
        reduction=None,
    )
    for y in (ONE_HOT, SOFT):
        expected = to_numpy(reference(y, y_pred))
        ours = to_numpy(focal_loss(y, y_pred, gamma, alpha, from_logits, smoothing))
        np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)
    # Integer labels give the same numbers as their one-hot encoding.
    np.testing.assert_allclose(
        to_numpy(focal_loss(INT_LABELS, y_pred, gamma, alpha, from_logits, smoothing)),
        to_numpy(reference(ONE_HOT, y_pred)),
        rtol=1e-5,
        atol=1e-6,
    )


BINARY_TRUE = RNG.integers(0, 2, (N, 3)).astype("float32")
BINARY_LOGITS = RNG.normal(0, 2, (N, 3)).astype("float32")
BINARY_PROBS = (1 / (1 + np.exp(-BINARY_LOGITS))).astype("float32")


@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize(
    "gamma, alpha, smoothing",
    [(2.0, None, 0.0), (2.0, 0.25, 0.1), (0.0, None, 0.0), (1.5, [0.2, 0.5, 0.9], 0.0)],
)
def test_binary_focal_matches_numpy_and_keras(from_logits, gamma, alpha, smoothing):
    y_pred = BINARY_LOGITS if from_logits else BINARY_PROBS
    ours = to_numpy(
        binary_focal_loss(BINARY_TRUE, y_pred, gamma, alpha, from_logits, smoothing)
    )
    expected = np_binary_focal(
        BINARY_TRUE.astype("float64"),
        y_pred.astype("float64"),
        gamma,
        alpha,
        from_logits,
        smoothing,
    )
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)
    if not isinstance(alpha, list):
        reference = keras.losses.BinaryFocalCrossentropy(
            apply_class_balancing=alpha is not None,
            alpha=0.25 if alpha is None else alpha,
            gamma=gamma,
            from_logits=from_logits,
            label_smoothing=smoothing,
            reduction=None,
        )
        np.testing.assert_allclose(
            ours, to_numpy(reference(BINARY_TRUE, y_pred)), rtol=1e-5, atol=1e-6
        )


def test_binary_focal_accepts_rank_one_labels():
    y = BINARY_TRUE[:, 0]
    z = BINARY_LOGITS[:, :1]
    np.testing.assert_allclose(
        to_numpy(binary_focal_loss(y, z, from_logits=True)),
        to_numpy(binary_focal_loss(y[:, None], z, from_logits=True)),
    )


@pytest.mark.parametrize("form", LABEL_FORMS)
@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.4])
def test_label_smoothing_matches_numpy(form, from_logits, smoothing):
    y, dense = LABEL_FORMS[form]
    y_pred = LOGITS if from_logits else PROBS
    ours = to_numpy(label_smoothing_cross_entropy(y, y_pred, smoothing, from_logits))
    expected = np_smoothed_ce(
        dense.astype("float64"), y_pred.astype("float64"), smoothing, from_logits
    )
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)
    if form == "one-hot":
        keras_value = keras.losses.categorical_crossentropy(
            dense, y_pred, from_logits=from_logits, label_smoothing=smoothing
        )
        np.testing.assert_allclose(ours, to_numpy(keras_value), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- stability


def value_and_grad(fn, x):
    """Sum of `fn(x)` and its gradient with respect to `x`."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(fn(x))
        return total, tape.gradient(total, x)
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        return jax.value_and_grad(lambda v: jnp.sum(fn(v)))(jnp.asarray(x))
    pytest.skip(f"no gradient helper for the {backend} backend")


EXTREME = np.array(
    [[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0], [0.0, 0.0, 0.0], [1e4, 1e4, -1e4]],
    "float32",
)
EXTREME_LABELS = np.array([0, 2, 1, 2])

STABLE_LOSSES = {
    "focal": lambda y, z: focal_loss(y, z, gamma=2.0, from_logits=True),
    "focal-gamma0.5": lambda y, z: focal_loss(
        y, z, gamma=0.5, alpha=0.25, from_logits=True, label_smoothing=0.1
    ),
    "focal-gamma0": lambda y, z: focal_loss(y, z, gamma=0.0, from_logits=True),
    "binary": lambda y, z: binary_focal_loss(
        np.eye(3, dtype="float32")[y], z, gamma=2.0, alpha=0.25, from_logits=True
    ),
    "binary-gamma0.5": lambda y, z: binary_focal_loss(
        np.eye(3, dtype="float32")[y], z, gamma=0.5, from_logits=True
    ),
    "smoothing": lambda y, z: label_smoothing_cross_entropy(
        y, z, 0.1, from_logits=True
    ),
}


@pytest.mark.parametrize("name", STABLE_LOSSES)
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_finite_at_extreme_logits(name, dtype):
    fn = STABLE_LOSSES[name]
    logits = keras.ops.cast(EXTREME, dtype)
    total, grad = value_and_grad(lambda z: fn(EXTREME_LABELS, z), logits)
    assert np.isfinite(to_numpy(total))
    assert np.all(np.isfinite(to_numpy(grad)))
    # A confident mistake costs ~1e4, not a saturated -log(1e-7) = 16.
    per_sample = to_numpy(fn(EXTREME_LABELS, logits))
    assert per_sample[1] > 1e3


@pytest.mark.parametrize("name", STABLE_LOSSES)
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_close_to_float32(name, dtype):
    fn = STABLE_LOSSES[name]
    logits = LOGITS[:, :3]
    labels = INT_LABELS % 3
    full = to_numpy(fn(labels, logits))
    half = fn(labels, keras.ops.cast(logits, dtype))
    assert keras.backend.standardize_dtype(half.dtype) == "float32"
    # Only the input rounding differs: bfloat16 keeps 8 bits of mantissa.
    np.testing.assert_allclose(to_numpy(half), full, rtol=0.05, atol=0.02)


@pytest.mark.parametrize(
    "loss",
    [
        FocalLoss(from_logits=True),
        BinaryFocalLoss(alpha=0.25, from_logits=True),
        LabelSmoothingCrossEntropy(0.1, from_logits=True),
    ],
    ids=["FocalLoss", "BinaryFocalLoss", "LabelSmoothingCrossEntropy"],
)
def test_mixed_precision_training(loss):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = rng.integers(0, 3, 64)
    if isinstance(loss, BinaryFocalLoss):
        y = np.eye(3, dtype="float32")[y]
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
        assert (
            keras.backend.standardize_dtype(model.layers[-1].compute_dtype) == "float16"
        )
        # Scale the inputs so the float16 logits reach ~+-1e4.
        model.compile(keras.optimizers.SGD(1e-6), loss)
        history = model.fit(x * 3e3, y, batch_size=32, epochs=2, verbose=0)
    finally:
        keras.config.set_dtype_policy(previous)
    assert np.all(np.isfinite(history.history["loss"]))


# ---------------------------------------------------------------- classes


def test_class_applies_the_function_and_reduces():
    loss = FocalLoss(gamma=1.0, alpha=[1, 2, 3, 4, 5], from_logits=True)
    np.testing.assert_allclose(
        to_numpy(loss(INT_LABELS, LOGITS)),
        to_numpy(focal_loss(INT_LABELS, LOGITS, 1.0, [1, 2, 3, 4, 5], True)).mean(),
        rtol=1e-6,
    )
    ls = LabelSmoothingCrossEntropy(0.2)
    np.testing.assert_allclose(
        to_numpy(ls(ONE_HOT, PROBS)),
        to_numpy(label_smoothing_cross_entropy(ONE_HOT, PROBS, 0.2)).mean(),
        rtol=1e-6,
    )


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        (
            FocalLoss,
            {
                "gamma": 1.5,
                "alpha": [0.5, 1.0],
                "from_logits": True,
                "label_smoothing": 0.1,
            },
        ),
        (
            BinaryFocalLoss,
            {"gamma": 2.0, "alpha": 0.25, "from_logits": False, "label_smoothing": 0.0},
        ),
        (LabelSmoothingCrossEntropy, {"smoothing": 0.2, "from_logits": True}),
    ],
)
def test_config_round_trip(cls, kwargs):
    loss = cls(**kwargs, reduction="sum", name="custom")
    config = loss.get_config()
    for key, value in kwargs.items():
        assert config[key] == value
    assert config["name"] == "custom" and config["reduction"] == "sum"
    assert cls.from_config(config).get_config() == config
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(restored) is cls and restored.get_config() == config
    assert cls.label_format == "sparse_or_dense"


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("fn", [focal_loss, binary_focal_loss])
def test_bad_gamma_alpha_smoothing(fn):
    y, z = ONE_HOT[:, :3], LOGITS[:, :3]
    with pytest.raises(ValueError, match=r"`gamma` must be >= 0. Received: gamma=-1"):
        fn(y, z, gamma=-1)
    with pytest.raises(ValueError, match=r"`alpha`.*Received: alpha=-0.5"):
        fn(y, z, alpha=-0.5)
    with pytest.raises(ValueError, match=r"Received: label_smoothing=1.5"):
        fn(y, z, label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"`alpha` must have one entry per class"):
        fn(y, z, alpha=[0.5, 0.5])


def test_bad_class_arguments():
    with pytest.raises(ValueError, match=r"Received: alpha=0"):
        FocalLoss(alpha=0)
    with pytest.raises(ValueError, match=r"Received: alpha=1.5"):
        BinaryFocalLoss(alpha=1.5)
    with pytest.raises(ValueError, match=r"Received: gamma=-0.1"):
        BinaryFocalLoss(gamma=-0.1)
    with pytest.raises(ValueError, match=r"Received: smoothing=2"):
        LabelSmoothingCrossEntropy(2)
    with pytest.raises(ValueError, match=r"Received: smoothing=-0.1"):
        label_smoothing_cross_entropy(ONE_HOT, PROBS, -0.1)
