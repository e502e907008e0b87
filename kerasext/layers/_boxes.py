"""Rectangular boxes: random centres, CutMix boxes, masks, masked paste.

Masks are built by broadcasting comparisons of iota coordinates against
per-sample bounds (no per-sample loop, no scatter). Pixel passes run on a
`(batch, height, width * channels)` view of the images: a mask built as
`(n, H, 1) & (n, 1, W * C)` broadcasts over leading axes only, which
TensorFlow's kernels handle at memory speed, whereas a `(n, H, W, 1)` mask
broadcast over a size-3 channel axis is several times slower.
"""

import keras
from keras import ops

from kerasext.layers._inputs import batch_size
from kerasext.layers._inputs import image_size
from kerasext.layers._pairs import partner_indices


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


def images_box_mask(images, top, bottom, left, right):
    """`box_mask` sized to a `(batch, H, W, C)` image batch."""
    height, width, channels = image_size(images)
    return box_mask(top, bottom, left, right, height, width, channels)


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


def paste_masked(images, mask, base=None):
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
