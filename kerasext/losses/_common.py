"""Helpers shared by the losses (private to `kerasext.losses`)."""

import math
import numbers

import keras
import numpy as np
from keras import ops

from kerasext._validation import check_non_negative

# Clip for probabilities (not logits) as Keras does, and a floor for the
# focal modulator's base `1 - p_t`, so that `power(., gamma)` never sees an
# exact 0 (its gradient there is 0 * inf = NaN for gamma < 1, and for
# gamma = 0 at any gamma).
EPSILON = keras.config.epsilon()
TINY = 1e-30


def compute_dtype(y_pred):
    """float32 for half-precision or non-float predictions, else their own.

    Losses are computed in at least float32: `log_softmax`, `softplus` and
    the focal power are where float16 / bfloat16 overflow or lose all
    precision.
    """
    dtype = keras.backend.standardize_dtype(y_pred.dtype)
    return dtype if dtype in ("float32", "float64") else "float32"


def dense_labels(y_true, y_pred, dtype):
    """One-hot/soft labels shaped like `y_pred` (..., classes).

    Integer class indices may come as `(...,)` or `(..., 1)`; anything whose
    shape matches `y_pred` is taken as one-hot or soft. Decided on shapes,
    not dtype, because `keras.losses.Loss.__call__` casts `y_true` to float.
    Class indices must be whole numbers in `[0, classes)`: checked eagerly
    (`ValueError` naming `y_true`, the value and the range); in a graph an
    invalid index yields a NaN row, hence a NaN loss.
    """
    y_true = ops.convert_to_tensor(y_true)
    classes = y_pred.shape[-1]
    rank_true, rank_pred = len(y_true.shape), len(y_pred.shape)
    sparse = rank_true == rank_pred - 1 or (
        rank_true == rank_pred and y_true.shape[-1] == 1 and classes != 1
    )
    if not sparse:
        return ops.cast(y_true, dtype)
    if rank_true == rank_pred:
        y_true = ops.squeeze(y_true, axis=-1)
    if keras.backend.standardize_dtype(y_true.dtype) == "bool":
        y_true = ops.cast(y_true, "int32")
    values = _concrete_values(y_true)
    if values is not None:
        _check_class_ids(values, classes)
    # Graph guard (values unknown when the graph is built): an index that is
    # out of range, fractional or NaN gives a row of NaN, so the loss is NaN
    # (which a NaN stop catches) instead of a finite value for a zero row.
    valid = ops.logical_and(y_true >= 0, y_true < classes)
    if "int" not in keras.backend.standardize_dtype(y_true.dtype):
        valid = ops.logical_and(valid, ops.floor(y_true) == y_true)
    ids = ops.cast(ops.where(valid, y_true, 0), "int32")
    one_hot = ops.one_hot(ids, classes, dtype=dtype)
    return ops.where(ops.expand_dims(valid, -1), one_hot, float("nan"))


def _concrete_values(x):
    """NumPy values of `x`, or `None` when `x` is symbolic (inside
    `tf.function` or `jax.jit`, where converting raises)."""
    try:
        return np.asarray(ops.convert_to_numpy(x))
    except Exception:  # noqa: BLE001 - symbolic tensor of any backend.
        return None


def _check_class_ids(values, classes):
    """Eager check: every index a whole number in [0, classes)."""
    values = values.reshape(-1).astype("float64")
    finite = np.isfinite(values)
    bad = ~finite | (values < 0) | (values >= classes)
    bad |= finite & (np.floor(values) != values)
    if bad.any():
        value = float(values[bad.argmax()])
        shown = str(int(value)) if value.is_integer() else repr(value)
        raise ValueError(
            "`y_true` must hold whole-number class indices in "
            f"[0, num_classes) = [0, {classes}) (num_classes from "
            f"y_pred.shape[-1]). Received: y_true containing {shown}"
        )


def check_gamma(gamma):
    return float(check_non_negative("gamma", gamma))


def check_alpha(alpha, upper=None):
    """`None`, a float, or a list of per-class floats, each >= 0 (<= upper).

    Returns `None`, a float or a list (JSON-friendly, for `get_config`).
    """
    if alpha is None:
        return None
    values = list(alpha) if isinstance(alpha, (list, tuple)) else [alpha]
    bound = "> 0" if upper is None else f"in [0, {upper:g}]"
    for value in values:
        ok = (
            not isinstance(value, bool)
            and isinstance(value, numbers.Real)
            and math.isfinite(value)
            and value >= 0.0
            and (upper is None or value <= upper)
        )
        if not ok or (upper is None and value == 0.0):
            raise ValueError(
                f"`alpha` must be None, a number {bound}, or a list of them "
                f"(one per class). Received: alpha={alpha!r}"
            )
    if isinstance(alpha, (list, tuple)):
        if not values:
            raise ValueError(
                f"`alpha` must not be an empty list. Received: alpha={alpha!r}"
            )
        return [float(v) for v in values]
    return float(alpha)


def alpha_tensor(alpha, y_pred, dtype):
    """`alpha` as something that broadcasts against `(..., classes)`."""
    if not isinstance(alpha, list):
        return alpha
    classes = y_pred.shape[-1]
    if classes is not None and len(alpha) != classes:
        raise ValueError(
            "`alpha` must have one entry per class when it is a list. "
            f"Received: alpha with {len(alpha)} entries for predictions "
            f"with {classes} classes (y_pred.shape={tuple(y_pred.shape)})"
        )
    return ops.convert_to_tensor(alpha, dtype=dtype)


def log_probabilities(y_pred, from_logits):
    """`(log p, p)` over the last axis.

    From logits: `log_softmax` (never `log(softmax)`, which is `log(0)` =
    -inf for logits ~1e4 apart). From probabilities: normalised to sum to 1
    and clipped to `[epsilon, 1 - epsilon]`, as Keras' cross-entropies do.
    """
    if from_logits:
        log_p = ops.log_softmax(y_pred, axis=-1)
        return log_p, ops.exp(log_p)
    p = y_pred / ops.sum(y_pred, axis=-1, keepdims=True)
    p = ops.clip(p, EPSILON, 1.0 - EPSILON)
    return ops.log(p), p


def focal_modulator(one_minus_p, gamma):
    """`(1 - p) ** gamma` with the base floored at `TINY` (finite gradients)."""
    if gamma == 0.0:
        return 1.0
    return ops.power(ops.maximum(one_minus_p, TINY), gamma)
