"""Library API under hostile input (issue 15, item 13): class ids given as
floats and NaN labels in the mixing layers, invalid sparse labels in the
losses, mismatched shapes in BinaryFocalLoss, infinite learning rates,
`find_lr` when the data raises, and Cutout fill values the image dtype
cannot hold. Each test failed before its fix. Backend-neutral (TF and JAX).
"""

import math

import keras
import numpy as np
import pytest

from kerasext import callbacks, schedules
from kerasext.layers import CutMix, Cutout, Mixup, MixupCutMix
from kerasext.losses import (
    BinaryFocalLoss,
    FocalLoss,
    LabelSmoothingCrossEntropy,
    binary_focal_loss,
    focal_loss,
    label_smoothing_cross_entropy,
)

MIXERS = [Mixup, CutMix, MixupCutMix]


def to_numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def compiled(fn):
    """`fn` traced as a graph: values unknown when it is built."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn)
    if backend == "jax":
        import jax

        return jax.jit(fn)
    pytest.skip(f"no graph mode tested for {backend}")


def images(n=4, side=8):
    return np.random.default_rng(0).random((n, side, side, 3)).astype("float32")


# ------------------------------------------- Mixup / CutMix: float class ids


@pytest.mark.parametrize("cls", MIXERS)
@pytest.mark.parametrize("shape", [(4,), (4, 1)])
def test_float_class_ids_are_one_hot_encoded_not_blended(cls, shape):
    ids = np.array([0, 3, 1, 4])
    _, from_ints = cls(num_classes=5, seed=1)(images(), ids.reshape(shape))
    _, from_floats = cls(num_classes=5, seed=1)(
        images(), ids.reshape(shape).astype("float32")
    )
    assert tuple(from_floats.shape) == (4, 5)
    np.testing.assert_array_equal(to_numpy(from_floats), to_numpy(from_ints))
    np.testing.assert_allclose(to_numpy(from_floats).sum(axis=-1), 1.0, rtol=1e-6)


def test_float_class_ids_symbolic_output_shape():
    image_input = keras.KerasTensor((None, 8, 8, 3))
    label_input = keras.KerasTensor((None,), dtype="float32")
    _, labels = Mixup(num_classes=5)(image_input, label_input)
    assert tuple(labels.shape) == (None, 5)


@pytest.mark.parametrize("cls", MIXERS)
@pytest.mark.parametrize(
    "bad,shown", [(2.5, "2.5"), (np.nan, "nan"), (-1.0, "-1"), (5.0, "5")]
)
def test_invalid_float_class_ids_refused_eagerly(cls, bad, shown):
    labels = np.array([0.0, 1.0, bad, 2.0], "float32")
    message = rf"`labels`.*\[0, num_classes\).*label of {shown} with num_classes=5"
    with pytest.raises(ValueError, match=message):
        cls(num_classes=5)(images(), labels)


@pytest.mark.parametrize("cls", MIXERS)
def test_float_class_ids_need_num_classes(cls):
    with pytest.raises(ValueError, match=r"`num_classes`.*Received: num_classes=None"):
        cls()(images(), np.array([0.0, 1.0, 0.0, 1.0], "float32"))


@pytest.mark.parametrize("cls", MIXERS)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_soft_labels_refused_eagerly(cls, bad):
    labels = np.eye(3, dtype="float32")[[0, 1, 2, 0]]
    labels[1, 2] = bad
    with pytest.raises(ValueError, match=r"`labels` must be finite.*index \(1, 2\)"):
        cls(num_classes=3)(images(), labels)


def test_binary_float_column_is_still_mixed_as_a_target():
    """Float `(batch, 1)` without a class count is a binary target: kept."""
    labels = np.array([[0.0], [1.0], [0.0], [1.0]], "float32")
    _, out = Mixup(seed=0)(images(), labels)
    out = to_numpy(out)
    assert out.shape == (4, 1) and np.all((out >= 0) & (out <= 1))


@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_invalid_class_id_in_a_graph_gives_a_nan_row(dtype):
    layer = Mixup(num_classes=3)

    def encode(x, y):
        return layer(x, y, training=False)[1]

    labels = np.array([0, 7, 2, 1]).astype(dtype)
    if dtype == "float32":
        labels[3] = np.nan
    out = to_numpy(compiled(encode)(images(), labels))
    assert np.isnan(out[1]).all()
    np.testing.assert_array_equal(out[[0, 2]], np.eye(3)[[0, 2]])
    if dtype == "float32":
        assert np.isnan(out[3]).all()


# ------------------------------------------------ losses: sparse label range

SPARSE_LOSSES = [
    FocalLoss(from_logits=True),
    LabelSmoothingCrossEntropy(0.1, from_logits=True),
    lambda y, p: focal_loss(y, p, from_logits=True),
    lambda y, p: label_smoothing_cross_entropy(y, p, from_logits=True),
]
LOSS_IDS = ["FocalLoss", "LabelSmoothingCrossEntropy", "focal_loss", "ls_ce"]
LOGITS = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0], [0.0, 0.0, 0.0]], "float32")


@pytest.mark.parametrize("loss", SPARSE_LOSSES, ids=LOSS_IDS)
@pytest.mark.parametrize(
    "labels,shown",
    [
        ([0, 3, 1], "3"),
        ([0, -1, 1], "-1"),
        ([0.0, np.nan, 1.0], "nan"),
        ([0.0, 1.5, 1.0], "1.5"),
    ],
)
def test_invalid_sparse_labels_refused_eagerly(loss, labels, shown):
    with pytest.raises(
        ValueError, match=rf"`y_true`.*\[0, 3\).*Received: y_true containing {shown}$"
    ):
        loss(np.array(labels), LOGITS)


@pytest.mark.parametrize("loss", SPARSE_LOSSES[:2], ids=LOSS_IDS[:2])
@pytest.mark.parametrize("labels", [[0, 3, 1], [0, -1, 1], [0.0, np.nan, 1.0]])
def test_invalid_sparse_labels_give_nan_loss_in_a_graph(loss, labels):
    y_true = np.array(labels, "float32").reshape(-1, 1)
    value = to_numpy(compiled(loss)(y_true, LOGITS))
    assert np.isnan(value)
    good = to_numpy(compiled(loss)(np.array([[0.0], [2.0], [1.0]], "float32"), LOGITS))
    assert np.isfinite(good)


# ------------------------------------------- BinaryFocalLoss: shape mismatch


@pytest.mark.parametrize(
    "true_shape,pred_shape",
    [((4, 3), (4, 1)), ((4, 2), (4, 3)), ((4, 1), (4,)), ((4,), (4, 3))],
)
def test_binary_focal_refuses_mismatched_shapes(true_shape, pred_shape):
    y_true = np.zeros(true_shape, "float32")
    y_pred = np.full(pred_shape, 0.5, "float32")
    message = (
        rf"y_true.shape={re_shape(true_shape)} "
        rf"with y_pred.shape={re_shape(pred_shape)}"
    )
    for loss in (BinaryFocalLoss(), binary_focal_loss):
        with pytest.raises(ValueError, match=message):
            loss(y_true, y_pred)


def re_shape(shape):
    return str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")


def test_binary_focal_keeps_the_keras_normal_rank_one_labels():
    y_pred = np.array([[0.2], [0.9], [0.6]], "float32")
    rank_one = binary_focal_loss(np.array([0.0, 1.0, 1.0]), y_pred)
    same = binary_focal_loss(np.array([[0.0], [1.0], [1.0]]), y_pred)
    np.testing.assert_allclose(to_numpy(rank_one), to_numpy(same))


# ---------------------------------------------- infinite learning rates


@pytest.mark.parametrize(
    "make,name",
    [
        (lambda v: schedules.OneCycle(max_lr=v, total_steps=10), "max_lr"),
        (lambda v: schedules.WarmupCosine(max_lr=v, total_steps=10), "max_lr"),
        (lambda v: schedules.Cyclical(base_lr=0.0, max_lr=v, step_size=2), "max_lr"),
        (lambda v: schedules.StepDecay(v, boundaries=[2], factors=[0.1]), "initial_lr"),
        (lambda v: schedules.Warmup(v, warmup_steps=2), "schedule"),
        (lambda v: callbacks.OneCycle(max_lr=v, epochs=2), "max_lr"),
        (lambda v: callbacks.CosineAnnealing(v, epochs=2), "max_lr"),
        (lambda v: callbacks.LRFinder(end_lr=v), "end_lr"),
    ],
)
@pytest.mark.parametrize("value", [math.inf, math.nan])
def test_non_finite_learning_rates_refused(make, name, value):
    with pytest.raises(ValueError, match=rf"`{name}`.*Received: {name}="):
        make(value)


# -------------------------------------------- find_lr when the data raises


def test_find_lr_restores_weights_and_learning_rate_when_the_data_raises():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(1)]
    )
    model.compile(keras.optimizers.Adam(1e-3), loss="mse")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 4)).astype("float32")
    y = rng.normal(size=(8, 1)).astype("float32")
    model.fit(x, y, epochs=1, verbose=0)  # build the optimizer's state
    weights = [to_numpy(v).copy() for v in model.variables]
    optimizer_state = [to_numpy(v).copy() for v in model.optimizer.variables]

    def broken_data():
        for _ in range(4):
            yield x, y
        raise RuntimeError("disk went away")

    # TensorFlow re-raises the generator's error as its own `UnknownError`.
    with pytest.raises(Exception, match="disk went away"):
        callbacks.find_lr(model, broken_data(), start_lr=1e-3, end_lr=10.0, steps=20)
    for before, variable in zip(weights, model.variables):
        np.testing.assert_array_equal(to_numpy(variable), before)
    for before, variable in zip(optimizer_state, model.optimizer.variables):
        np.testing.assert_array_equal(to_numpy(variable), before)
    assert float(to_numpy(model.optimizer.learning_rate)) == pytest.approx(1e-3)


# ------------------------------------------- Cutout: fill value vs dtype


@pytest.mark.parametrize(
    "dtype,fill,shown",
    [
        ("uint8", 300, r"uint8, \[0, 255\]. Received: fill_value=300.0"),
        ("uint8", -1, r"uint8, \[0, 255\]. Received: fill_value=-1.0"),
        ("int8", 128, r"int8, \[-128, 127\]"),
        ("float16", 1e5, r"float16, \[-65504.0, 65504.0\]"),
    ],
)
def test_cutout_refuses_a_fill_the_dtype_cannot_hold(dtype, fill, shown):
    batch = np.zeros((2, 8, 8, 1), dtype)
    with pytest.raises(ValueError, match=rf"`fill_value`.*{shown}"):
        Cutout(4, fill_value=fill, seed=0)(batch)


@pytest.mark.parametrize("dtype,fill", [("uint8", 255), ("uint8", 0), ("float32", 300)])
def test_cutout_fill_in_range_is_written_exactly(dtype, fill):
    out = to_numpy(Cutout(4, fill_value=fill, seed=0)(np.full((2, 8, 8, 1), 7, dtype)))
    assert set(np.unique(out).tolist()) == {7, fill}


@pytest.mark.parametrize("fill", [math.inf, -math.inf, math.nan, "0", None])
def test_cutout_refuses_non_finite_fill_at_construction(fill):
    message = r"`fill_value` must be a finite number. Received: fill_value="
    with pytest.raises(ValueError, match=message):
        Cutout(4, fill_value=fill)
