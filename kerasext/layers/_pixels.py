"""The full-batch pixel passes of the augmentation layers, fused where possible.

Each layer draws its random numbers (boxes, `lam`) with `keras.random`, then
makes one pass over the pixels: erase boxes (`Cutout`), paste the partners'
boxes (`CutMix`), blend with the partners (`Mixup`), or blend then paste
(`MixupCutMix`). Unfused, such a pass is several: copy the partners, build a
full-size mask, select or multiply and add, each reading and writing the whole
batch.

Under the TensorFlow backend in a graph (`tf.function`, `tf.data` map, a
model's train step) each pass is compiled with XLA (`jit_compile=True`), which
fuses it into one loop reading every image and its partner once (measured
costs: `benchmarks/results.md`). Random draws stay
outside the compiled function, so seeds give the same numbers either way, and
the pixel passes are pure selections except `Mixup`'s blend (bit-for-bit the
same but for float rounding of `lam * x + (1 - lam) * x_j`).
Eager calls skip XLA (a compile per new shape costs more than it saves), as do
other backends (JAX compiles the whole `jit` function anyway) and
`KERASEXT_XLA=0` in the environment, for a platform whose XLA fails.
"""

import functools
import os

import keras
from keras import ops

from kerasext.layers._boxes import as_rows
from kerasext.layers._boxes import images_box_mask
from kerasext.layers._boxes import paste_masked
from kerasext.layers._inputs import batch_size
from kerasext.layers._pairs import pair_blend
from kerasext.layers._pairs import partner_indices
from kerasext.layers._pairs import partners


def _fusable(plain):
    """Decorator: `xla_body` runs as one XLA computation when `_use_xla()`,
    else `plain` (written for TensorFlow's unfused kernels) runs."""

    def decorate(xla_body):
        compiled = {}

        @functools.wraps(xla_body)
        def call(*args):
            if not _use_xla():
                return plain(*args)
            if "fn" not in compiled:
                import tensorflow as tf

                compiled["fn"] = tf.function(
                    xla_body, jit_compile=True, reduce_retracing=True, autograph=False
                )
            return compiled["fn"](*args)

        return call

    return decorate


def _use_xla():
    if keras.backend.backend() != "tensorflow":
        return False
    if os.environ.get("KERASEXT_XLA", "1") == "0":
        return False
    import tensorflow as tf

    return not tf.executing_eagerly()


def _blend_weight(images, lam):
    """Per-sample weight shaped `(n, 1, 1)`; a sample paired with itself
    (the last of an odd batch) keeps weight 1."""
    n = batch_size(images)
    index = partner_indices(n)
    lam = ops.where(index == ops.arange(n, dtype="int32"), 1.0, lam)
    return ops.reshape(ops.cast(lam, images.dtype), (-1, 1, 1))


# --------------------------------------------------------------------------
# Cutout.


def _erase_plain(images, top, bottom, left, right, fill_value):
    mask = images_box_mask(images, top, bottom, left, right)
    rows = as_rows(images)
    if fill_value == 0.0:
        # `x * keep` runs faster than `where(mask, 0, x)` on CPU
        # (TensorFlow's select with a broadcast scalar is slow). Only
        # difference: a NaN or inf pixel inside the square becomes NaN.
        out = rows * ops.cast(ops.logical_not(mask), rows.dtype)
    else:
        out = ops.where(mask, ops.cast(fill_value, rows.dtype), rows)
    return ops.reshape(out, ops.shape(images))


@_fusable(_erase_plain)
def erase(images, top, bottom, left, right, fill_value):
    """Sets rows `[top, bottom)` x columns `[left, right)` of each image to
    `fill_value` (bounds are int32 `(n,)`, clipped to the image for free)."""
    mask = images_box_mask(images, top, bottom, left, right)
    rows = as_rows(images)
    out = ops.where(mask, ops.cast(fill_value, rows.dtype), rows)
    return ops.reshape(out, ops.shape(images))


# --------------------------------------------------------------------------
# CutMix, Mixup and both.


def _paste_plain(images, top, bottom, left, right, lam=None):
    mask = images_box_mask(images, top, bottom, left, right)
    base = None if lam is None else pair_blend([images], lam)[0]
    return paste_masked(images, mask, base=base)


@_fusable(_paste_plain)
def paste_boxes(images, top, bottom, left, right, lam=None):
    """Copies each partner's box into the image; with `lam` (float `(n,)`),
    the image outside the box is first blended with its partner (Mixup),
    `lam * x + (1 - lam) * x_partner`."""
    rows = as_rows(images)
    others = partners(rows)
    base = rows
    if lam is not None:
        weight = _blend_weight(rows, lam)
        base = weight * rows + (1.0 - weight) * others
    mask = images_box_mask(images, top, bottom, left, right)
    return ops.reshape(ops.where(mask, others, base), ops.shape(images))


def _blend_plain(images, lam):
    return pair_blend([images], lam)[0]


@_fusable(_blend_plain)
def blend(images, lam):
    """`lam * x + (1 - lam) * x_partner` per sample (Mixup's pixels)."""
    rows = as_rows(images)
    weight = _blend_weight(rows, lam)
    out = weight * rows + (1.0 - weight) * partners(rows)
    return ops.reshape(out, ops.shape(images))
