"""Label and target checks for the cases where Keras is silent, cryptic or device-dependent.

Keras itself reports out-of-range integer labels as a long graph error on CPU and silently
trains to NaN on GPU; NaN labels give `loss=nan`; one-hot labels under a sparse loss (and the
reverse) fail deep inside the loss; and a regression target of shape `(B, 1)` against an output
of shape `(B, 3)` broadcasts into a `(B, 3)` error matrix without a word. These checks run
before `fit` and raise one `ValueError` that names the problem and the value received.
"""

import numpy as np

_SPARSE = {"sparse_categorical_crossentropy", "sparse_categorical_focal_crossentropy"}
_CATEGORICAL = {
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
    "categorical_hinge",
    "kl_divergence",
    "kld",
}
_BINARY = {"binary_crossentropy", "binary_focal_crossentropy", "hinge", "squared_hinge"}
_REGRESSION = {
    "mean_squared_error",
    "mse",
    "mean_absolute_error",
    "mae",
    "mean_absolute_percentage_error",
    "mape",
    "mean_squared_logarithmic_error",
    "msle",
    "huber",
    "log_cosh",
    "logcosh",
    "poisson",
    "cosine_similarity",
}


def check_labels(y, num_classes=None, name="labels"):
    """Checks integer class labels and returns them as an int64 vector.

    Args:
        y: array-like of class ids, shape `(N,)` or `(N, 1)`.
        num_classes: if given, every label must lie in `[0, num_classes)`.
        name: how the error messages call `y`. Defaults to `"labels"`.

    Returns:
        An int64 NumPy array of shape `(N,)`.

    Raises:
        ValueError: for string labels, NaN or infinite labels, non-integer values,
            a shape other than `(N,)` / `(N, 1)`, or labels outside `[0, num_classes)`.
    """
    y = np.asarray(y)
    _check_numeric_finite(y, name)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(
            f"`{name}` must be integer class ids of shape (N,) or (N, 1). "
            f"Received: shape {y.shape}"
        )
    if y.dtype.kind == "f":
        bad = np.flatnonzero(y != np.round(y))
        if bad.size:
            raise ValueError(
                f"`{name}` must be integer class ids. Received: non-integer value "
                f"{y[bad[0]].item()!r} at index {bad[0]} ({bad.size} such values)"
            )
    y = y.astype(np.int64)
    _check_range(y, num_classes, name)
    return y


def check_targets(model, targets):
    """Checks training targets against a compiled model's loss and output shape.

    Call it before `model.fit`. It reads the compiled loss (a name, a `keras.losses.Loss`
    or a function) and decides what the targets must look like:

    - sparse losses (`sparse_categorical_crossentropy`): integer class ids of shape
      `(B,)` or `(B, 1)` in `[0, C)`, where `C` is the model's last output dimension;
    - categorical losses: one-hot or soft labels of shape `(B, C)`;
    - binary losses: the output's shape, values in `[0, 1]`;
    - regression losses: the output's shape (a trailing axis of 1 may be missing on
      one side, as Keras squeezes it); anything else would broadcast silently;
    - losses with `label_format = "sparse_or_dense"` (kerasext's focal and
      label-smoothing losses) accept either integer ids or `(B, C)` labels.

    Unknown losses and multi-output models get only the numeric / finite check.

    Args:
        model: a compiled `keras.Model`.
        targets: labels as an array or tensor, or a `tf.data.Dataset` of
            `(inputs, targets)` batches, of which the first batch is checked.

    Raises:
        ValueError: naming the loss, the targets' shape or value, and the fix.
    """
    y = _first_targets(targets)
    if y is None:
        return
    _check_numeric_finite(y, "targets")
    loss = getattr(model, "loss", None)
    outputs = getattr(model, "outputs", None) or []
    if loss is None or isinstance(loss, (dict, list, tuple)) or len(outputs) != 1:
        return
    out_shape = tuple(outputs[0].shape)
    name, label_format = _loss_identity(loss)
    num_classes = out_shape[-1]
    if label_format == "sparse_or_dense":
        kind = "sparse" if _is_sparse_shaped(y, num_classes) else "categorical"
    elif name in _SPARSE:
        kind = "sparse"
    elif name in _CATEGORICAL:
        kind = "categorical"
    elif name in _BINARY:
        kind = "binary"
    elif name in _REGRESSION:
        kind = "regression"
    else:
        return
    if kind == "sparse":
        if y.ndim == 2 and y.shape[1] > 1:
            raise ValueError(
                f"Targets look one-hot (shape {y.shape}) but the loss {name} expects "
                "integer class ids of shape (batch,). Use loss='categorical_crossentropy', "
                "or pass integer labels."
            )
        check_labels(y, num_classes=num_classes, name="targets")
    elif kind == "categorical":
        if _is_sparse_shaped(y, num_classes):
            raise ValueError(
                f"Targets are integer class ids (shape {y.shape}) but the loss {name} "
                f"expects one-hot labels of shape (batch, {num_classes}). Use "
                "loss='sparse_categorical_crossentropy', or one-hot encode the labels."
            )
        if y.shape[1:] != out_shape[1:]:
            raise ValueError(
                f"Targets of shape {y.shape} do not match the model's output "
                f"{_fmt(out_shape)} for the loss {name}."
            )
    else:
        if not _same_after_squeeze(y.shape[1:], out_shape[1:]):
            raise ValueError(
                f"Targets of shape {y.shape} do not match the model's output "
                f"{_fmt(out_shape)}: the loss {name} would broadcast them silently. "
                "Reshape the targets or change the output layer."
            )
        if kind == "binary" and (y.min() < 0 or y.max() > 1):
            raise ValueError(
                f"The loss {name} expects targets in [0, 1]. Received: values from "
                f"{y.min()} to {y.max()}"
            )


def _check_numeric_finite(y, name):
    if y.dtype.kind in "USO":
        example = (y.reshape(-1)[:1].tolist() or [""])[0]  # a plain Python value for the message
        raise ValueError(
            f"`{name}` must be numeric. Received: dtype {y.dtype} (e.g. {example!r}). "
            "Map class names to integer ids first, e.g. with "
            "`np.unique(labels, return_inverse=True)`."
        )
    if y.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(y.reshape(-1)))
        if bad.size:
            raise ValueError(
                f"`{name}` must be finite. Received: {bad.size} NaN or infinite "
                f"values (first at flat index {bad[0]}: {y.reshape(-1)[bad[0]]})"
            )


def _check_range(y, num_classes, name):
    if y.size == 0:
        return
    low, high = int(y.min()), int(y.max())
    if low < 0 or (num_classes is not None and high >= num_classes):
        upper = num_classes if num_classes is not None else "num_classes"
        value = low if low < 0 else high
        index = int(np.flatnonzero(y == value)[0])
        raise ValueError(
            f"`{name}` must lie in [0, {upper}). Received: {value} at index {index} "
            f"(labels range from {low} to {high})"
        )


def _first_targets(targets):
    try:
        import tensorflow as tf
    except ImportError:  # pragma: no cover - TensorFlow is a dependency
        tf = None
    if tf is not None and isinstance(targets, tf.data.Dataset):
        for element in targets.take(1):
            if not isinstance(element, (tuple, list)) or len(element) < 2:
                return None
            targets = element[1]
            break
        else:
            return None
    if isinstance(targets, dict):
        return None
    return np.asarray(targets)


def _loss_identity(loss):
    """Returns (snake_case name, label_format) for a loss given in any Keras form."""
    label_format = getattr(loss, "label_format", None)
    if isinstance(loss, str):
        name = loss
    else:
        fn = getattr(loss, "fn", None)  # keras.losses.LossFunctionWrapper
        target = fn if fn is not None and not isinstance(loss, type) else loss
        name = getattr(target, "__name__", None) or type(target).__name__
    return _snake(name), label_format


def _snake(name):
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _is_sparse_shaped(y, num_classes):
    return y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1 and num_classes != 1)


def _same_after_squeeze(a, b):
    a, b = tuple(a), tuple(b)
    if a == b:
        return True
    return a + (1,) == b or a == b + (1,)


def _fmt(shape):
    return "(" + ", ".join("batch" if d is None else str(d) for d in shape) + ")"
