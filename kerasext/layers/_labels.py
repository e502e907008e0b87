"""Label encoding for the label-mixing layers: one-hot and smoothing."""

import keras
import numpy as np
from keras import ops


def _concrete_values(x):
    """NumPy values of `x`, or `None` when `x` is symbolic.

    Tensors inside `tf.function`, `tf.data` or `jax.jit` have no values yet;
    converting them raises (the exception type depends on the backend), and
    then there is nothing to check before the data flows.
    """
    try:
        return np.asarray(ops.convert_to_numpy(x))
    except Exception:  # noqa: BLE001 - symbolic tensor of any backend.
        return None


def is_integer_dtype(x):
    dtype = keras.backend.standardize_dtype(x.dtype)
    return dtype == "bool" or "int" in dtype


def is_class_ids(labels, num_classes):
    """Whether `labels` are class indices rather than one-hot / soft rows.

    Integer labels of shape `(batch,)` or `(batch, 1)` are; so are float
    labels of shape `(batch,)` (a soft label needs a class axis), and float
    `(batch, 1)` when `num_classes` is set and is not 1 (a single column
    cannot be a `num_classes`-way row). Float `(batch, 1)` without that is a
    binary target and is mixed as it is.
    """
    shape = tuple(labels.shape)
    if len(shape) == 1:
        return True
    if len(shape) != 2 or shape[-1] != 1:
        return False
    return is_integer_dtype(labels) or num_classes not in (None, 1)


def _label_text(value):
    """A label as the user would write it: `5`, `-1`, `2.5`, `nan`."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def _check_class_ids(values, num_classes):
    """Eager check of class indices: whole numbers in [0, num_classes)."""
    values = values.reshape(-1)
    bad = ~np.isfinite(values) | (values < 0) | (values >= num_classes)
    if not is_integer_dtype(values):
        bad |= np.isfinite(values) & (np.floor(values) != values)
    if bad.any():
        raise ValueError(
            "`labels` must be whole-number class indices in [0, num_classes) "
            "when they have no class axis. Received: a label of "
            f"{_label_text(values[bad.argmax()])} with num_classes={num_classes}"
        )


def _valid_class_ids(labels, num_classes):
    """Bool `(batch,)`: which class indices are whole numbers in range."""
    valid = ops.logical_and(labels >= 0, labels < num_classes)
    if not is_integer_dtype(labels):  # NaN fails every comparison.
        valid = ops.logical_and(valid, ops.floor(labels) == labels)
    return valid


def encode_labels(labels, num_classes, dtype):
    """Returns float labels of shape `(batch, classes)` (or as given).

    Class indices (see `is_class_ids`: integer `(batch,)` / `(batch, 1)`,
    float `(batch,)`) are one-hot encoded with `num_classes`; any other
    labels (one-hot, multi-hot, soft) are only cast to `dtype`, never
    blended as numbers. In eager mode class indices must be whole numbers
    in `[0, num_classes)` and other labels finite, else `ValueError`. In a
    graph (`tf.data`, `tf.function`, `jax.jit`) the values are unknown when
    the graph is built: an invalid class index (out of range, fractional,
    NaN) becomes a row of NaN, so the loss is NaN and a NaN stop catches
    it, and a NaN in soft labels flows into the loss the same way.
    """
    labels = ops.convert_to_tensor(labels)
    shape = tuple(labels.shape)
    if len(shape) == 0:
        raise ValueError(
            f"`labels` must have a batch dimension. Received: labels.shape={shape}"
        )
    values = _concrete_values(labels)
    if not is_class_ids(labels, num_classes):
        if (
            num_classes is not None
            and shape[-1] is not None
            and shape[-1] != num_classes
        ):
            raise ValueError(
                "`labels` must have `num_classes` columns when they are "
                f"one-hot or soft. Received: labels.shape={shape} with "
                f"num_classes={num_classes}"
            )
        if values is not None and not is_integer_dtype(values):
            finite = np.isfinite(values.astype("float64"))
            if not finite.all():
                row = np.argwhere(~finite)[0]
                raise ValueError(
                    "`labels` must be finite. Received: labels containing "
                    f"{values[tuple(row)]!r} at index {tuple(int(i) for i in row)}"
                )
        if is_integer_dtype(labels) or keras.backend.standardize_dtype(
            labels.dtype
        ) not in ("float16", "bfloat16", "float32", "float64"):
            return ops.cast(labels, dtype)
        return labels
    if num_classes is None:
        raise ValueError(
            "`num_classes` must be set when `labels` are class indices "
            f"(labels.shape={shape}, dtype={labels.dtype}; one-hot or soft "
            "labels need a class axis). Received: num_classes=None"
        )
    if len(shape) == 2:
        labels = ops.squeeze(labels, axis=-1)
    if keras.backend.standardize_dtype(labels.dtype) == "bool":
        labels = ops.cast(labels, "int32")
    if values is not None and values.size:
        _check_class_ids(values, num_classes)
    valid = _valid_class_ids(labels, num_classes)
    ids = ops.where(valid, labels, 0)
    one_hot = ops.one_hot(ops.cast(ids, "int32"), num_classes, dtype=dtype)
    return ops.where(ops.expand_dims(valid, -1), one_hot, float("nan"))


def smooth_labels(labels, smoothing):
    """`labels * (1 - smoothing) + smoothing / classes` (timm, Keras)."""
    if not smoothing:
        return labels
    classes = labels.shape[-1] or ops.shape(labels)[-1]
    return labels * (1.0 - smoothing) + smoothing / ops.cast(classes, labels.dtype)
