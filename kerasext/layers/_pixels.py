"""The full-batch pixel passes of the augmentation layers, fused where possible.

Each layer draws its random numbers (boxes, `lam`) with `keras.random`, then
makes one pass over the pixels: erase boxes (`Cutout`), paste the partners'
boxes (`CutMix`), blend with the partners (`Mixup`), or blend then paste
(`MixupCutMix`). Unfused, such a pass is several: copy the partners, build a
full-size mask, select or multiply and add, each reading and writing the whole
batch, which put `CutMix` at ~4x the cost of one elementwise pass at 224 px.

Under the TensorFlow backend in a graph (`tf.function`, `tf.data` map, a
model's train step) each pass is compiled with XLA (`jit_compile=True`), which
fuses it into one loop reading every image and its partner once: measured at
~1x the bare elementwise pass (`benchmarks/augment.py`). Random draws stay
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

from kerasext.layers import _augment_utils as utils


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


def _partners(x):
    return ops.take(x, utils.partner_indices(utils.batch_size(x)), axis=0)


def _box_mask(images, top, bottom, left, right):
    height, width, channels = utils.image_size(images)
    return utils.box_mask(top, bottom, left, right, height, width, channels)


def _blend_weight(images, lam):
    """Per-sample weight shaped `(n, 1, 1)`; a sample paired with itself
    (the last of an odd batch) keeps weight 1."""
    n = utils.batch_size(images)
    index = utils.partner_indices(n)
    lam = ops.where(index == ops.arange(n, dtype="int32"), 1.0, lam)
    return ops.reshape(ops.cast(lam, images.dtype), (-1, 1, 1))


# --------------------------------------------------------------------------
# Cutout.


def _erase_plain(images, top, bottom, left, right, fill_value):
    mask = _box_mask(images, top, bottom, left, right)
    rows = utils.as_rows(images)
    if fill_value == 0.0:
        # `x * keep` runs ~1.5x faster than `where(mask, 0, x)` on CPU
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
    mask = _box_mask(images, top, bottom, left, right)
    rows = utils.as_rows(images)
    out = ops.where(mask, ops.cast(fill_value, rows.dtype), rows)
    return ops.reshape(out, ops.shape(images))


# --------------------------------------------------------------------------
# CutMix, Mixup and both.


def _paste_plain(images, top, bottom, left, right, lam=None):
    mask = _box_mask(images, top, bottom, left, right)
    base = None if lam is None else utils.pair_blend([images], lam)[0]
    return utils.paste(images, mask, base=base)


@_fusable(_paste_plain)
def paste(images, top, bottom, left, right, lam=None):
    """Copies each partner's box into the image; with `lam` (float `(n,)`),
    the image outside the box is first blended with its partner (Mixup),
    `lam * x + (1 - lam) * x_partner`."""
    rows = utils.as_rows(images)
    partners = _partners(rows)
    base = rows
    if lam is not None:
        weight = _blend_weight(rows, lam)
        base = weight * rows + (1.0 - weight) * partners
    mask = _box_mask(images, top, bottom, left, right)
    return ops.reshape(ops.where(mask, partners, base), ops.shape(images))


def _blend_plain(images, lam):
    return utils.pair_blend([images], lam)[0]


@_fusable(_blend_plain)
def blend(images, lam):
    """`lam * x + (1 - lam) * x_partner` per sample (Mixup's pixels)."""
    rows = utils.as_rows(images)
    weight = _blend_weight(rows, lam)
    out = weight * rows + (1.0 - weight) * _partners(rows)
    return ops.reshape(out, ops.shape(images))
