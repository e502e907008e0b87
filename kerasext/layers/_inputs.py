"""Call structures and shapes of the augmentation layers' inputs.

The layers accept `images`, `(images, labels)` as one argument or two, and
`{"images": ..., "labels": ...}`; `unpack` splits these and `pack` puts the
result back into the caller's structure. The shape helpers return Python
ints where the shape is static and scalar tensors otherwise.
"""

from keras import ops


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
