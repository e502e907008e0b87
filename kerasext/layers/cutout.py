"""Cutout: erase one square per image (DeVries & Taylor, 2017)."""

import numbers

import keras
import numpy as np
from keras import ops

from kerasext._validation import check_finite
from kerasext._validation import check_unit_interval
from kerasext.layers._boxes import random_centres
from kerasext.layers._inputs import batch_size
from kerasext.layers._inputs import check_image_rank
from kerasext.layers._inputs import check_same_batch
from kerasext.layers._inputs import image_size
from kerasext.layers._inputs import pack
from kerasext.layers._inputs import unpack
from kerasext.layers._pixels import erase

# Base class. Keras' own image preprocessing layers subclass the private
# `keras.src.layers.preprocessing.data_layer.DataLayer` (called `TFDataLayer`
# in earlier 3.x releases), which swaps in TensorFlow ops inside `tf.data`
# whatever the backend. We subclass the public `keras.layers.Layer` instead:
#   1. `DataLayer.__call__` takes a single input, but `ds.map(layer)` on
#      `(images, labels)` elements calls `layer(images, labels)`;
#   2. in a TF graph it casts every input to the compute dtype, turning uint8
#      images and integer labels into floats, while we promise output dtype
#      = input dtype and must see integer labels to one-hot encode them;
#   3. it is private API that has been renamed and reshaped between releases.
# The price: under a non-TensorFlow backend (JAX, torch) these layers run
# eagerly, under `jit` and inside models, but not inside `tf.data.Dataset.map`
# (`keras.ops` would receive TF graph tensors). Under the TensorFlow backend
# `keras.ops` are TF ops, so the layers work in `tf.data` as they are.


@keras.saving.register_keras_serializable(package="kerasext")
class Cutout(keras.layers.Layer):
    """Erases one square patch per image (Cutout).

    Each image gets a square of side `size` whose centre is a pixel drawn
    uniformly over the whole image, so the square may hang over the border
    and be clipped, as in the paper. The square spans rows
    `[cy - side // 2, cy - side // 2 + side)` and the same for columns, then
    is clipped to the image. Every sample draws its own centre, and each
    sample is erased with probability `prob`. At inference
    (`training=False`) the layer is the identity.

    Keras' nearest built-in is `keras.layers.RandomErasing`, which samples a
    patch of random area and aspect ratio that always lies inside the image,
    builds its mask with a `repeat` over channels and a full-size fill
    tensor, and casts to float. `Cutout` exists for the paper's geometry
    (fixed square, centre anywhere, clipping at the border), to keep the
    input dtype (uint8 stays uint8), and for speed: one select pass over the
    batch, XLA-fused in a TensorFlow graph (measured against `RandomErasing`
    in `benchmarks/results.md`).

    Works eagerly, inside `tf.function`, inside `tf.data.Dataset.map` with
    the TensorFlow backend, and as a layer of a model under any backend.
    Channels-last images only.

    Args:
        size: Side of the square. An int >= 1 (or a float >= 1 with no
            fractional part) is a number of pixels; a float in (0, 1) is a
            fraction of the shorter image side, rounded to the nearest pixel
            (at least 1).
        fill_value: Finite value written into the erased square, cast to
            the image dtype (truncated for integer images); it must lie in
            that dtype's range, e.g. [0, 255] for uint8, checked at call
            time. Defaults to `0.0`.
        prob: Probability that a given image is erased at all. Defaults to
            `1.0`.
        seed: Integer seed of the layer's `keras.random.SeedGenerator`.
            Defaults to `None` (nondeterministic).
        **kwargs: Base layer keyword arguments, such as `name`.

    Call arguments:
        data: Images of shape `(batch, height, width, channels)` or
            `(height, width, channels)`, any numeric dtype; or an
            `(images, labels)` tuple or an `{"images": ..., "labels": ...}`
            dict, in which case the labels pass through untouched.
        labels: Optional labels, passed through. `layer(images, labels)` is
            what `ds.map(layer)` does on a dataset of `(images, labels)`.
        training: Python bool. Defaults to `True`, as in Keras preprocessing
            layers; `model.predict` and `model.evaluate` pass `False`.

    Returns:
        The images with one square erased per (selected) image, same shape
        and dtype as the input, in the input's structure: a tensor,
        `(images, labels)`, or a dict.

    Raises:
        ValueError: If `size` <= 0 or is a non-integral float >= 1, if
            `prob` is outside [0, 1], if `fill_value` is not finite or (at
            call time) outside the image dtype's range, if the square is
            larger than the image (checked when the image size is static),
            or if the images do not have rank 3 or 4.

    References:
        - [DeVries & Taylor, 2017](https://arxiv.org/abs/1708.04552)

    Example:

    ```python
    images = np.full((4, 32, 32, 3), 255, dtype="uint8")
    out = kerasext.layers.Cutout(size=16, seed=1)(images)  # uint8, 4x32x32x3
    # In a tf.data pipeline of (images, labels) batches (TensorFlow backend):
    ds = ds.map(kerasext.layers.Cutout(0.5), num_parallel_calls=tf.data.AUTOTUNE)
    ```
    """

    mixes_labels = False

    def __init__(self, size, fill_value=0.0, prob=1.0, seed=None, **kwargs):
        # Keep the input dtype: no autocasting of float inputs to the policy's
        # compute dtype (there are no weights to match).
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        self.size = _check_size(size)
        self.fill_value = float(check_finite("fill_value", fill_value))
        self.prob = float(check_unit_interval("prob", prob))
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _side(self, height, width):
        """Side of the square in pixels (Python int or scalar tensor)."""
        if isinstance(self.size, float) and self.size < 1.0:
            shorter = (
                min(height, width)
                if isinstance(height, int) and isinstance(width, int)
                else ops.minimum(height, width)
            )
            if isinstance(shorter, int):
                return max(1, int(round(self.size * shorter)))
            side = ops.round(self.size * ops.cast(shorter, "float32"))
            return ops.maximum(ops.cast(side, "int32"), 1)
        side = int(self.size)
        for name, extent in (("height", height), ("width", width)):
            if isinstance(extent, int) and side > extent:
                raise ValueError(
                    f"`size` must not exceed the image {name} ({extent}). "
                    f"Received: size={self.size!r}"
                )
        return side

    def call(self, data, labels=None, training=True):
        images, labels, kind = unpack(data, labels, "Cutout")
        images = ops.convert_to_tensor(images)
        check_image_rank(images)
        _check_fill_fits(self.fill_value, images.dtype)
        single = len(images.shape) == 3
        batch = images[None, ...] if single else images
        if labels is not None and not single:
            check_same_batch(images, ops.convert_to_tensor(labels))
        height, width, _ = image_size(batch)
        side = self._side(height, width)  # also checks size <= image
        if training and self.prob > 0.0:
            out = self._erase(batch, side)
            images = out[0] if single else out
        return pack(kind, data, images, labels)

    def _erase(self, images, side):
        height, width, _ = image_size(images)
        n = batch_size(images)
        cy, cx = random_centres(n, height, width, self.seed_generator)
        top = cy - side // 2
        left = cx - side // 2
        bottom = top + side
        if self.prob < 1.0:
            chosen = keras.random.uniform((n,), seed=self.seed_generator) < self.prob
            bottom = ops.where(chosen, bottom, top)  # empty box: untouched
        return erase(images, top, bottom, left, left + side, self.fill_value)

    def compute_output_spec(self, data, labels=None, training=True):
        images, labels, kind = unpack(data, labels, "Cutout")
        out = keras.KerasTensor(images.shape, dtype=images.dtype)
        return pack(kind, data, out, labels)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "size": self.size,
                "fill_value": self.fill_value,
                "prob": self.prob,
                "seed": self.seed,
            }
        )
        return config


# Largest finite value of the float dtypes (bfloat16 has no NumPy finfo).
_FLOAT_MAX = {
    "float16": 65504.0,
    "bfloat16": 3.3895313892515355e38,
    "float32": 3.4028234663852886e38,
}


def _check_fill_fits(fill_value, dtype):
    """Raise unless `fill_value` is representable in the images' `dtype`.

    Casting 300 to uint8 would wrap to 44, and 1e5 to float16 gives inf.
    """
    dtype = keras.backend.standardize_dtype(dtype)
    if dtype == "bool":
        low, high = 0, 1
    elif "int" in dtype:
        info = np.iinfo(dtype)
        low, high = int(info.min), int(info.max)
    elif dtype in _FLOAT_MAX:
        low, high = -_FLOAT_MAX[dtype], _FLOAT_MAX[dtype]  # beyond: inf
    else:
        return
    if not low <= fill_value <= high:
        raise ValueError(
            f"`fill_value` must lie in the range of the image dtype {dtype}, "
            f"[{low}, {high}]. Received: fill_value={fill_value!r}"
        )


def _check_size(size):
    ok = not isinstance(size, bool) and isinstance(size, numbers.Real)
    if ok and isinstance(size, numbers.Integral):
        ok = size >= 1
        size = int(size)
    elif ok:
        size = float(size)
        ok = 0.0 < size < 1.0 or (size >= 1.0 and size.is_integer())
    if not ok:
        raise ValueError(
            "`size` must be an int >= 1 (pixels) or a float in (0, 1) "
            f"(fraction of the shorter image side). Received: size={size!r}"
        )
    return size
