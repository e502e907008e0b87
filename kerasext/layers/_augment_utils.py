"""Helpers shared by the augmentation layers (private to `kerasext.layers`).

Five concerns live here, each used by more than one layer:

- argument checks that raise `ValueError` naming the argument and the value;
- unpacking the call structures the layers accept (`images`,
  `(images, labels)` as one argument or two, `{"images", "labels"}`) and
  packing the result back into the same structure;
- turning integer labels into one-hot float labels;
- pairing each sample with a partner and blending the two;
- rectangular box masks built by broadcasting comparisons of iota
  coordinates against per-sample bounds (no per-sample loop, no scatter),
  and pasting a partner through such a mask in one select pass.

Everything is written with `keras.ops` / `keras.random`, so it runs eagerly,
inside `tf.function`, inside `tf.data.Dataset.map` (TensorFlow backend) and
under JAX.
"""

import numbers

import keras
import numpy as np
from keras import ops

# --------------------------------------------------------------------------
# Argument checks.


def check_probability(value, name):
    """Returns `value` as a float after checking that it lies in [0, 1]."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not 0.0 <= value <= 1.0
    ):
        raise ValueError(
            f"`{name}` must be a number in [0, 1]. Received: {name}={value!r}"
        )
    return float(value)


def check_positive(value, name, allow_zero=False):
    """Returns `value` as a float after checking that it is > 0 (or >= 0)."""
    bad = (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not np.isfinite(value)
        or (value < 0 if allow_zero else value <= 0)
    )
    if bad:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"`{name}` must be {bound}. Received: {name}={value!r}")
    return float(value)


def check_num_classes(num_classes):
    """Returns `num_classes` after checking it is `None` or an int >= 1."""
    if num_classes is None:
        return None
    if (
        isinstance(num_classes, bool)
        or not isinstance(num_classes, numbers.Integral)
        or num_classes < 1
    ):
        raise ValueError(
            "`num_classes` must be None or an integer >= 1. "
            f"Received: num_classes={num_classes!r}"
        )
    return int(num_classes)


def check_image_rank(images, allowed=(3, 4)):
    """Raises `ValueError` unless `images` has one of the `allowed` ranks."""
    rank = len(images.shape)
    if rank not in allowed:
        layouts = {
            3: "rank 3 (height, width, channels)",
            4: "rank 4 (batch, height, width, channels)",
        }
        expected = " or ".join(layouts[r] for r in allowed)
        raise ValueError(
            f"`images` must have {expected}. "
            f"Received: images.shape={tuple(images.shape)}"
        )


def check_same_batch(images, labels):
    """Raises `ValueError` when the static batch sizes of both differ.

    When either batch dimension is unknown (a `tf.data` pipeline without
    `drop_remainder=True`), nothing is checked: the sizes exist only at run
    time, where a `ValueError` cannot be raised. (A dataset of
    `(image, label)` elements batched together cannot produce a mismatch.)
    """
    n_images = images.shape[0]
    n_labels = labels.shape[0] if len(labels.shape) else None
    if n_images is not None and n_labels is not None and n_images != n_labels:
        raise ValueError(
            "`labels` must have the same batch size as `images`. "
            f"Received: labels.shape={tuple(labels.shape)} with "
            f"images.shape={tuple(images.shape)}"
        )


# --------------------------------------------------------------------------
# Call structures.


def unpack(data, labels, layer_name):
    """Splits the accepted call structures into `(images, labels, kind)`.

    `kind` is one of "images" (a bare tensor), "pair" (two positional
    arguments, which is what `ds.map(layer)` passes for `(x, y)` elements),
    "tuple" (one `(images, labels)` argument) or "dict".
    """
    if isinstance(data, dict):
        if labels is not None:
            raise ValueError(
                f"{layer_name} was called with a dict and a separate "
                "`labels` argument; put the labels in the dict under "
                f"'labels'. Received: labels={labels!r}"
            )
        if "images" not in data:
            raise ValueError(
                f"{layer_name} needs an 'images' key in a dict input. "
                f"Received: keys={sorted(data)}"
            )
        return data["images"], data.get("labels"), "dict"
    if isinstance(data, (tuple, list)):
        if labels is not None or len(data) != 2:
            raise ValueError(
                f"{layer_name} accepts a tuple only as `(images, labels)`. "
                f"Received: a {type(data).__name__} of length {len(data)}"
                + (" and a separate `labels`" if labels is not None else "")
            )
        return data[0], data[1], "tuple"
    return data, labels, "images" if labels is None else "pair"


def pack(kind, data, images, labels):
    """Inverse of `unpack`: the same structure with new images and labels."""
    if kind == "dict":
        out = dict(data)
        out["images"] = images
        if labels is not None:
            out["labels"] = labels
        return out
    if kind in ("tuple", "pair"):
        return images, labels
    return images


# --------------------------------------------------------------------------
# Labels.


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


def encode_labels(labels, num_classes, dtype):
    """Returns float labels of shape `(batch, classes)` (or as given).

    Integer labels of shape `(batch,)` or `(batch, 1)` are one-hot encoded
    with `num_classes`; any other labels (one-hot, multi-hot, soft) are
    only cast to `dtype`. In eager mode integer values are checked against
    `[0, num_classes)`; in a graph (`tf.data`, `tf.function`, `jax.jit`)
    values are unknown when the graph is built, and an out-of-range label
    becomes an all-zero row, as `ops.one_hot` does.
    """
    labels = ops.convert_to_tensor(labels)
    shape = tuple(labels.shape)
    sparse = is_integer_dtype(labels) and (
        len(shape) == 1 or (len(shape) == 2 and shape[-1] == 1)
    )
    if not sparse:
        if (
            num_classes is not None
            and len(shape) >= 2
            and shape[-1] is not None
            and shape[-1] != num_classes
        ):
            raise ValueError(
                "`labels` must have `num_classes` columns when they are "
                f"one-hot or soft. Received: labels.shape={shape} with "
                f"num_classes={num_classes}"
            )
        if len(shape) == 0:
            raise ValueError(
                f"`labels` must have a batch dimension. Received: "
                f"labels.shape={shape}"
            )
        if is_integer_dtype(labels) or keras.backend.standardize_dtype(
            labels.dtype
        ) not in ("float16", "bfloat16", "float32", "float64"):
            return ops.cast(labels, dtype)
        return labels
    if num_classes is None:
        raise ValueError(
            "`num_classes` must be set when `labels` are integer class "
            f"indices (labels.shape={shape}, dtype={labels.dtype}). "
            "Received: num_classes=None"
        )
    if len(shape) == 2:
        labels = ops.squeeze(labels, axis=-1)
    values = _concrete_values(labels)
    if values is not None and values.size:
        low, high = int(values.min()), int(values.max())
        if low < 0 or high >= num_classes:
            bad = low if low < 0 else high
            raise ValueError(
                "Integer `labels` must lie in [0, num_classes). Received: "
                f"a label of {bad} with num_classes={num_classes}"
            )
    return ops.one_hot(ops.cast(labels, "int32"), num_classes, dtype=dtype)


def smooth_labels(labels, smoothing):
    """`labels * (1 - smoothing) + smoothing / classes` (timm, Keras)."""
    if not smoothing:
        return labels
    classes = labels.shape[-1] or ops.shape(labels)[-1]
    return labels * (1.0 - smoothing) + smoothing / ops.cast(classes, labels.dtype)


# --------------------------------------------------------------------------
# Partners and blending.
#
# Every label-mixing layer pairs sample 2k with sample 2k + 1 (the partner of
# `i` is `i xor 1`; the last sample of an odd-sized batch is its own
# partner). Like timm's reversal (`i <-> batch - 1 - i`) this is a fixed
# perfect matching, so in a shuffled pipeline partners are uniformly random.
# Its advantage: with the batch viewed as `(batch / 2, 2, -1)`, blending every
# sample with its partner is ONE batched 2x2 matmul, a single pass over the
# images, where a reversal needs a reverse copy plus three elementwise passes
# (TensorFlow does not fuse elementwise ops outside XLA).


def partner_indices(n):
    """int32 `(n,)`: `i xor 1`, clipped so an odd batch's last is itself.

    A constant when `n` is a Python int (fewer ops per call), else computed.
    """
    if isinstance(n, int):
        return ops.convert_to_tensor(
            np.minimum(np.arange(n) ^ 1, n - 1).astype("int32")
        )
    index = ops.arange(n, dtype="int32")
    return ops.minimum(ops.bitwise_xor(index, 1), n - 1)


# Per-sample size (elements) from which the matmul form is used. Below it,
# 64 tiny batched matmuls cost more than the elementwise form's extra passes
# (measured on TF CPU: matmul slower at 32x32x3, faster from ~48x48x3 up).
MATMUL_MIN_ELEMENTS = 6144


def pair_blend(tensors, lam):
    """`lam[i] * x[i] + (1 - lam[i]) * x[partner(i)]` along axis 0, for each
    `x` in `tensors`.

    Args:
        tensors: List of float tensors `(batch, ...)`, same batch size.
        lam: Float tensor `(batch,)` (or `(1,)`, broadcast to the batch).

    Returns:
        List of blended tensors, shapes and dtypes as given.

    For an even batch of large samples each blend is one batched matmul of
    `(batch/2, 2, 2)` weights with the `(batch/2, 2, -1)` view of `x`; small
    samples (labels, tiny images) and odd batches (known only at run time
    inside `tf.data`) use two products and a `take`.
    Note: where float32 matmuls run at reduced precision (TF32 on recent
    NVIDIA GPUs, bf16 passes on TPU), the blend inherits it (~1e-3
    relative); on CPU it is exact float32 arithmetic.
    """
    n = batch_size(tensors[0])
    lam = ops.cast(lam, "float32")
    if lam.shape[0] == 1:
        lam = ops.broadcast_to(lam, (n,))
    return [_blend(x, lam, n) for x in tensors]


def _blend(x, lam, n):
    sample = x.shape[1:]
    if all(d is not None for d in sample) and (
        int(np.prod(sample)) < MATMUL_MIN_ELEMENTS
    ):
        return _pair_take(x, lam)
    if isinstance(n, int):
        return _pair_matmul(x, lam) if n % 2 == 0 else _pair_take(x, lam)
    return ops.cond(
        ops.equal(n % 2, 0),
        lambda: _pair_matmul(x, lam),
        lambda: _pair_take(x, lam),
    )


def _pair_matmul(x, lam):
    pairs = ops.reshape(ops.cast(lam, x.dtype), (-1, 2, 1))
    eye = ops.eye(2, dtype=x.dtype)[None]
    weights = pairs * eye + (1.0 - pairs) * (1.0 - eye)  # (n/2, 2, 2)
    rows = ops.reshape(x, (ops.shape(weights)[0], 2, -1))
    return ops.reshape(ops.matmul(weights, rows), ops.shape(x))


def _pair_take(x, lam):
    n = batch_size(x)
    index = partner_indices(n)
    if not isinstance(n, int) or n % 2:
        # The sample paired with itself keeps lam = 1: it comes back exactly.
        lam = ops.where(index == ops.arange(n, dtype="int32"), 1.0, lam)
    weight = ops.reshape(ops.cast(lam, x.dtype), (-1,) + (1,) * (len(x.shape) - 1))
    return weight * x + (1.0 - weight) * ops.take(x, index, axis=0)


# --------------------------------------------------------------------------
# Boxes.
#
# Pixel passes run on a `(batch, height, width * channels)` view of the
# images: a mask built as `(n, H, 1) & (n, 1, W * C)` broadcasts over leading
# axes only, which TensorFlow's kernels handle at memory speed, whereas a
# `(n, H, W, 1)` mask broadcast over a size-3 channel axis is several times
# slower.


def image_size(images):
    """`(height, width, channels)` of a (batch, height, width, channels)
    tensor: Python ints when static, scalar tensors otherwise."""
    static = images.shape
    dynamic = None
    dims = []
    for axis in (1, 2, 3):
        if static[axis] is not None:
            dims.append(int(static[axis]))
        else:
            if dynamic is None:
                dynamic = ops.shape(images)
            dims.append(dynamic[axis])
    return tuple(dims)


def batch_size(images):
    """Static batch size when known, else a scalar tensor."""
    n = images.shape[0]
    return int(n) if n is not None else ops.shape(images)[0]


def as_rows(images):
    """`(batch, height, width * channels)` view of the images."""
    height, width, channels = image_size(images)
    return ops.reshape(images, (-1, height, width * channels))


def random_centres(n, height, width, seed_generator):
    """Integer box centres, uniform over all `height * width` pixels.

    One `randint` draw over the flat pixel index, split into (row, column):
    exactly uniform, unlike `floor(uniform * height)`, which can round up to
    `height` in float32.
    """
    flat = keras.random.randint(
        (n,), 0, height * width, dtype="int32", seed=seed_generator
    )
    return flat // width, flat % width


def box_mask(top, bottom, left, right, height, width, channels):
    """Boolean `(n, height, width * channels)` mask of the pixels in rows
    `[top, bottom)` and columns `[left, right)`, per sample.

    Bounds are int32 tensors of shape `(n,)` and may lie outside the image:
    comparing them with the iota coordinates clips the box for free. The
    mask is the `and` of a `(n, H, 1)` row test and a `(n, 1, W * C)` column
    test (the column of flat position `j` is `j // channels`).
    """
    rows = ops.reshape(ops.arange(height, dtype="int32"), (1, -1, 1))
    cols = ops.reshape(
        ops.arange(width * channels, dtype="int32") // channels, (1, 1, -1)
    )
    in_rows = ops.logical_and(
        rows >= ops.reshape(top, (-1, 1, 1)),
        rows < ops.reshape(bottom, (-1, 1, 1)),
    )
    in_cols = ops.logical_and(
        cols >= ops.reshape(left, (-1, 1, 1)),
        cols < ops.reshape(right, (-1, 1, 1)),
    )
    return ops.logical_and(in_rows, in_cols)


def cutmix_boxes(lam, apply, height, width, seed_generator):
    """Boxes of area ~`(1 - lam) * H * W`, centred uniformly, clipped.

    As in the CutMix paper and timm: side ratio `sqrt(1 - lam)`, cut height
    `int(H * ratio)`, cut width `int(W * ratio)`, centre uniform over the
    image, box `[centre - cut // 2, centre - cut // 2 + cut)` clipped to the
    image. Samples where `apply` is False get an empty box.

    Returns:
        `(top, bottom, left, right, pasted)`: clipped int32 bounds of shape
        `(n,)` and the float32 fraction of the image the box covers, computed
        from the clipped integer bounds, so it equals the fraction of pixels
        actually pasted.
    """
    n = lam.shape[0] if lam.shape[0] is not None else ops.shape(lam)[0]
    ratio = ops.sqrt(ops.maximum(1.0 - ops.cast(lam, "float32"), 0.0))
    cut_h = ops.cast(ops.floor(ops.cast(height, "float32") * ratio), "int32")
    cut_w = ops.cast(ops.floor(ops.cast(width, "float32") * ratio), "int32")
    if apply is not None:
        cut_h = ops.where(apply, cut_h, 0)
    cy, cx = random_centres(n, height, width, seed_generator)
    top = ops.clip(cy - cut_h // 2, 0, height)
    bottom = ops.clip(cy - cut_h // 2 + cut_h, 0, height)
    left = ops.clip(cx - cut_w // 2, 0, width)
    right = ops.clip(cx - cut_w // 2 + cut_w, 0, width)
    area = ops.cast((bottom - top) * (right - left), "float32")
    pasted = area / ops.cast(height * width, "float32")
    return top, bottom, left, right, pasted


def paste(images, mask, base=None):
    """Copies each sample's partner into `mask`: one select pass.

    Args:
        images: `(batch, H, W, C)`; partners are taken from these.
        mask: Boolean `(n, H, W * C)`, n = batch or 1.
        base: What the partner is pasted onto, same shape as `images`;
            defaults to `images`.

    Returns:
        A tensor shaped like `images`, of `base`'s dtype.
    """
    rows = as_rows(images)
    partner = ops.take(rows, partner_indices(batch_size(images)), axis=0)
    base = rows if base is None else as_rows(base)
    partner = ops.cast(partner, base.dtype)
    return ops.reshape(ops.where(mask, partner, base), ops.shape(images))
