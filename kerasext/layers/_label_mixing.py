"""Base class of the layers that mix pairs of samples and their labels."""

import keras
from keras import ops

from kerasext._validation import check_int
from kerasext._validation import check_unit_interval
from kerasext.layers._inputs import check_image_rank
from kerasext.layers._inputs import check_same_batch
from kerasext.layers._inputs import pack
from kerasext.layers._inputs import unpack
from kerasext.layers._labels import encode_labels
from kerasext.layers._labels import is_class_ids

# Base class: plain `keras.layers.Layer`, for the reasons given at the top
# of `cutout.py` (Keras' private `DataLayer` takes one input and casts
# integer labels to float inside `tf.data`).


class LabelMixingLayer(keras.layers.Layer):
    """Shared plumbing of `Mixup`, `CutMix` and `MixupCutMix`.

    Subclasses implement `_mix(images, labels)` on a rank 4 float (or, when
    `_keeps_integer_images`, integer) image batch and float labels of shape
    `(batch, classes)`, and return the mixed pair. This class unpacks the
    accepted call structures, checks shapes, one-hot encodes integer labels,
    and packs the result into the caller's structure.

    The partner of sample `i` is sample `i xor 1` (see
    `_pairs.py` and the `Mixup` docstring for why not
    timm's reversal); the last sample of an odd-sized batch is its own
    partner and comes out unchanged.
    """

    mixes_labels = True
    # Whether integer images stay integer (pure selection, no blending).
    _keeps_integer_images = False

    def __init__(self, num_classes=None, prob=1.0, seed=None, **kwargs):
        # No autocasting: float images keep their dtype (no weights here).
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        self.num_classes = check_int("num_classes", num_classes, 1, allow_none=True)
        self.prob = float(check_unit_interval("prob", prob))
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _unpack_checked(self, data, labels):
        name = self.__class__.__name__
        images, labels, kind = unpack(data, labels, name)
        if labels is None:
            raise ValueError(
                f"{name} mixes labels, so it needs them: call it as "
                "`layer(images, labels)`, `layer((images, labels))` or "
                "`layer({'images': ..., 'labels': ...})`. Received: "
                "labels=None"
            )
        if not isinstance(images, keras.KerasTensor):
            images = ops.convert_to_tensor(images)
        if not isinstance(labels, keras.KerasTensor):
            labels = ops.convert_to_tensor(labels)
        check_image_rank(images, allowed=(4,))
        check_same_batch(images, labels)
        return images, labels, kind

    def _image_dtype(self, images):
        dtype = keras.backend.standardize_dtype(images.dtype)
        if "float" in dtype or self._keeps_integer_images:
            return dtype
        return keras.config.floatx()

    def call(self, data, labels=None, training=True):
        images, labels, kind = self._unpack_checked(data, labels)
        labels = encode_labels(labels, self.num_classes, keras.config.floatx())
        images = ops.cast(images, self._image_dtype(images))
        if training:
            images, labels = self._mix(images, labels)
        return pack(kind, data, images, labels)

    def _mix(self, images, labels):
        raise NotImplementedError

    def _sample_apply(self, n):
        """Bool `(n,)`: which samples get mixed; `None` when all do."""
        if self.prob >= 1.0:
            return None
        draw = keras.random.uniform((n,), seed=self.seed_generator)
        return draw < self.prob

    def compute_output_spec(self, data, labels=None, training=True):
        images, labels, kind = unpack(data, labels, type(self).__name__)
        out_images = keras.KerasTensor(images.shape, dtype=self._image_dtype(images))
        shape = tuple(labels.shape)
        if is_class_ids(labels, self.num_classes):
            shape = (shape[0], self.num_classes)
        out_labels = keras.KerasTensor(shape, dtype=keras.config.floatx())
        return pack(kind, data, out_images, out_labels)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "prob": self.prob,
                "seed": self.seed,
            }
        )
        return config
