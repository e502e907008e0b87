"""RandomShift: random translation by whole pixels, as one gather per batch."""

import numbers

import keras
from keras import ops

from kerasext._validation import check_choice
from kerasext._validation import check_finite
from kerasext.layers._inputs import batch_size
from kerasext.layers._inputs import check_image_rank
from kerasext.layers._inputs import check_same_batch
from kerasext.layers._inputs import image_size
from kerasext.layers._inputs import pack
from kerasext.layers._inputs import unpack
from kerasext.layers._pixels import _fusable
from kerasext.layers.cutout import _check_fill_fits

FILL_MODES = ("reflect", "constant")


@keras.saving.register_keras_serializable(package="kerasext")
class RandomShift(keras.layers.Layer):
    """Translates each image by a random whole number of pixels.

    Each image draws its own vertical and horizontal offsets: a fraction
    drawn uniformly from the range of `height_factor` (`width_factor`),
    times the image height (width), rounded to the nearest pixel (halves to
    even). A positive offset moves the content down (right): output pixel
    `(y, x)` is input pixel `(y - dy, x - dx)`. Pixels that come from outside
    the image are filled by `fill_mode`. At inference (`training=False`) the
    layer is the identity.

    The factors mean what they mean in `keras.layers.RandomTranslation`,
    and the offsets are drawn as it draws them (Keras 3.15: the same
    generator calls, height first), so with the same seed they are its
    offsets, rounded; `RandomTranslation(..., interpolation="nearest")` then
    gives the same images. But it runs a general projective transform
    (`ImageProjectiveTransformV3` under TensorFlow: per output pixel a
    coordinate transform and a bounds check), and with its default
    `interpolation="bilinear"` it also blends four pixels per output pixel
    at fractional offsets. `RandomShift` exists to do less work: it builds
    one source index per output pixel from the two offsets (integer math on
    a row and a column vector) and gathers the batch once, with no
    interpolation (in a TensorFlow graph both are compiled with XLA, as
    kerasext's other pixel passes are); it keeps the input dtype (uint8
    stays uint8). The cost of both, measured in the image-folder pipeline,
    is in `benchmarks/results.md`.

    Works eagerly, inside `tf.function`, inside `tf.data.Dataset.map` with
    the TensorFlow backend, and as a layer of a model under any backend.
    Its draws go through `self.seed_generator`, so `kerasext.data`'s keyed
    augmentation makes them repeatable and resumable. Channels-last images
    only; a batch must hold fewer than 2**31 pixels (int32 indices).

    Args:
        height_factor: Vertical offset as a fraction of the image height: a
            number `f` in [-1, 1] for offsets in `[-|f|, |f|]`, or a
            `(lower, upper)` pair of numbers in [-1, 1] (in either order).
        width_factor: Horizontal offset as a fraction of the image width,
            same form as `height_factor`.
        fill_mode: How pixels from outside the image are filled:
            `"reflect"`, `(d c b a | a b c d | d c b a)` as in Keras (NumPy's
            `np.pad(mode="symmetric")`), or `"constant"`, `fill_value`.
            Defaults to `"reflect"`, as in `RandomTranslation`.
        fill_value: Finite value for `fill_mode="constant"`, cast to the
            image dtype (truncated for integer images); it must lie in that
            dtype's range, checked at call time. Defaults to `0.0`.
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
        The shifted images, same shape and dtype as the input, in the
        input's structure: a tensor, `(images, labels)`, or a dict.

    Raises:
        ValueError: If a factor is not a number in [-1, 1] or a pair of
            them, if `fill_mode` is not one of `"reflect"`, `"constant"`, if
            `fill_value` is not finite or (at call time, constant mode)
            outside the image dtype's range, or if the images do not have
            rank 3 or 4.

    Example:

    ```python
    images = np.random.randint(0, 256, (4, 32, 32, 3), dtype="uint8")
    out = kerasext.layers.RandomShift(0.1, 0.1, seed=1)(images)  # uint8, 4x32x32x3
    # In a tf.data pipeline of (images, labels) batches (TensorFlow backend):
    ds = ds.map(kerasext.layers.RandomShift(0.1, 0.1),
                num_parallel_calls=tf.data.AUTOTUNE)
    ```
    """

    mixes_labels = False

    def __init__(
        self,
        height_factor,
        width_factor,
        fill_mode="reflect",
        fill_value=0.0,
        seed=None,
        **kwargs,
    ):
        # Keep the input dtype: no autocasting to the policy's compute dtype.
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        self.height_factor = _check_factor("height_factor", height_factor)
        self.width_factor = _check_factor("width_factor", width_factor)
        self.fill_mode = check_choice("fill_mode", fill_mode, FILL_MODES)
        self.fill_value = float(check_finite("fill_value", fill_value))
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _offsets(self, n, height, width):
        """Draws `(dy, dx)`, int32 of shape `(n,)`: the next call's offsets.

        Drawn as `RandomTranslation` draws them (uniform of shape `(n, 1)`,
        height then width, times the size, in float32), then rounded.
        """
        offsets = []
        for factor, extent in ((self.height_factor, height), (self.width_factor, width)):
            lower, upper = _bounds(factor)
            fraction = keras.random.uniform(
                (n, 1), minval=lower, maxval=upper, seed=self.seed_generator
            )
            pixels = ops.round(fraction * ops.cast(extent, "float32"))
            offsets.append(ops.reshape(ops.cast(pixels, "int32"), (-1,)))
        return tuple(offsets)

    def call(self, data, labels=None, training=True):
        images, labels, kind = unpack(data, labels, "RandomShift")
        images = ops.convert_to_tensor(images)
        check_image_rank(images)
        if self.fill_mode == "constant":
            _check_fill_fits(self.fill_value, images.dtype)
        single = len(images.shape) == 3
        batch = images[None, ...] if single else images
        if labels is not None and not single:
            check_same_batch(images, ops.convert_to_tensor(labels))
        if training:
            height, width, _ = image_size(batch)
            dy, dx = self._offsets(batch_size(batch), height, width)
            out = shift(batch, dy, dx, self.fill_mode, self.fill_value)
            images = out[0] if single else out
        return pack(kind, data, images, labels)

    def compute_output_spec(self, data, labels=None, training=True):
        images, labels, kind = unpack(data, labels, "RandomShift")
        out = keras.KerasTensor(images.shape, dtype=images.dtype)
        return pack(kind, data, out, labels)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "height_factor": self.height_factor,
                "width_factor": self.width_factor,
                "fill_mode": self.fill_mode,
                "fill_value": self.fill_value,
                "seed": self.seed,
            }
        )
        return config


def _shift_plain(images, dy, dx, fill_mode, fill_value):
    """`images` shifted by `(dy, dx)` per image: one gather of pixels.

    The source row of output row `y` in image `i` is `y - dy[i]`, mapped
    into the image by reflection, or marked outside for constant fill;
    likewise for columns. Row and column indices combine into one index per
    output pixel into the batch seen as a `(n * H * W, C)` table of pixels
    (constant mode appends one fill pixel, indexed by every outside
    position), and `take` reads the whole output at once.
    """
    n = batch_size(images)
    height, width, channels = image_size(images)
    rows = ops.arange(height, dtype="int32")[None, :] - dy[:, None]  # (n, H)
    cols = ops.arange(width, dtype="int32")[None, :] - dx[:, None]  # (n, W)
    first = ops.arange(n, dtype="int32")[:, None] * height  # row 0 of image i
    pixels = ops.reshape(images, (-1, channels))
    if fill_mode == "reflect":
        rows, cols = _reflect(rows, height), _reflect(cols, width)
        return ops.take(pixels, _flat(first + rows, cols, width), axis=0)
    inside = _inside(rows, height)[:, :, None] & _inside(cols, width)[:, None, :]
    rows = ops.clip(rows, 0, height - 1)
    cols = ops.clip(cols, 0, width - 1)
    flat = ops.where(inside, _flat(first + rows, cols, width), n * height * width)
    fill = ops.full((1, channels), fill_value, dtype=images.dtype)
    return ops.take(ops.concatenate([pixels, fill], axis=0), flat, axis=0)


# In a TensorFlow graph the index math and the gather are compiled with XLA,
# as the other layers' pixel passes are (`_pixels.py`): about a third of the
# CPU of the unfused ops. The offsets are drawn outside, so seeds give the
# same images either way.
@_fusable(_shift_plain)
def shift(images, dy, dx, fill_mode, fill_value):
    """`images` shifted by `(dy, dx)` (int32 `(n,)`), filled by `fill_mode`."""
    return _shift_plain(images, dy, dx, fill_mode, fill_value)


def _reflect(index, extent):
    """Maps any integer index into `[0, extent)` by Keras' reflect mode,
    `d c b a | a b c d | d c b a`: period `2 * extent`, mirrored halves."""
    period = 2 * extent
    index = ops.mod(index, period)  # floor modulo: in [0, period)
    return ops.where(index < extent, index, period - 1 - index)


def _inside(index, extent):
    return (index >= 0) & (index < extent)


def _flat(rows, cols, width):
    """`(n, H, W)` flat pixel indices from global rows `(n, H)` and columns `(n, W)`."""
    return rows[:, :, None] * width + cols[:, None, :]


def _bounds(factor):
    """`(lower, upper)` of a checked factor (a float or a pair)."""
    if isinstance(factor, tuple):
        return min(factor), max(factor)
    return -abs(factor), abs(factor)


def _is_fraction(value):
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and -1.0 <= value <= 1.0  # False for NaN
    )


def _check_factor(name, factor):
    """A number in [-1, 1] (returned as a float) or a pair of them (a tuple)."""
    if _is_fraction(factor):
        return float(factor)
    if (
        isinstance(factor, (tuple, list))
        and len(factor) == 2
        and all(_is_fraction(v) for v in factor)
    ):
        return tuple(float(v) for v in factor)
    raise ValueError(
        f"`{name}` must be a number in [-1, 1] or a (lower, upper) pair of "
        f"numbers in [-1, 1]. Received: {name}={factor!r}"
    )
