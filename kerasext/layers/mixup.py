"""Mixup: blend pairs of images and their labels (Zhang et al., 2018)."""

import keras
from keras import ops

from kerasext._validation import check_positive
from kerasext.layers._inputs import batch_size
from kerasext.layers._label_mixing import LabelMixingLayer
from kerasext.layers._pairs import pair_blend
from kerasext.layers._pixels import blend


@keras.saving.register_keras_serializable(package="kerasext")
class Mixup(LabelMixingLayer):
    """Blends each image and label with a partner's (Mixup).

    For sample `i` with partner `j = i xor 1` (pairs (0, 1), (2, 3), ...;
    see "Partners" below), draws `lam_i ~ Beta(alpha, alpha)` and returns
    `lam_i * x_i + (1 - lam_i) * x_j` and `lam_i * y_i + (1 - lam_i) * y_j`.
    Each sample draws its own `lam`; a sample is mixed with probability
    `prob`, otherwise it keeps `lam = 1` (unchanged).

    Partners: timm pairs sample `i` with `batch - 1 - i` (the batch
    reversed) and Keras' `MixUp` draws a random permutation. We pair
    neighbours, `i xor 1`: like the reversal a fixed perfect matching, so in
    a shuffled pipeline partners are uniformly random. In a TensorFlow graph
    (`tf.data`, `tf.function`) the blend is one XLA-fused pass over the
    batch (see `_pixels.py`); eagerly, the blend of every pair is a batched
    2x2 matmul over the `(batch / 2, 2, -1)` view of the batch instead of a
    reversed copy plus three elementwise passes (even batches of samples
    with at least 6144 values, e.g. 48x48x3; below that the elementwise
    form is faster). In an odd-sized batch the last sample is its own
    partner and comes out unchanged. (Where float32 matmuls run at reduced
    precision, TF32 GPUs or TPUs, the eager blend inherits it, ~1e-3
    relative.)

    Keras' nearest built-in is `keras.layers.MixUp`. It needs one-hot labels
    in a dict, has no `prob`, and cannot be mapped over `(images, labels)`
    tuples; `Mixup` takes integer labels (one-hot encoded with
    `num_classes`), the tuple, two-argument and dict forms, and per-sample
    `prob`, and runs one fused pass over the batch where `MixUp` runs four
    (measured in `benchmarks/results.md`).

    Args:
        alpha: Concentration of the symmetric Beta distribution of `lam`;
            must be > 0. Small values keep images close to one of the two.
            Defaults to `0.2`.
        num_classes: Number of classes, needed when labels are integer
            class indices of shape `(batch,)` or `(batch, 1)`. Defaults to
            `None`.
        prob: Probability that a given sample is mixed at all. Defaults to
            `1.0`.
        seed: Integer seed of the layer's `keras.random.SeedGenerator`.
            Defaults to `None`.
        **kwargs: Base layer keyword arguments, such as `name`.

    Call arguments:
        data: An `(images, labels)` tuple, a dict with keys "images" and
            "labels" (other keys pass through), or the images, with the
            labels as the second argument. Images have shape
            `(batch, height, width, channels)`; labels are class indices
            (integer `(batch,)` or `(batch, 1)`, or float `(batch,)` holding
            whole numbers, one-hot encoded, never blended as numbers) or
            one-hot / soft `(batch, classes)`.
        labels: The labels when `data` is the images.
        training: Python bool; `False` skips the mixing. Defaults to `True`.

    Returns:
        The same structure with mixed images (float dtype: float inputs keep
        theirs, integer images become `keras.config.floatx()`) and mixed
        float labels of shape `(batch, classes)`, whose rows sum to 1 when
        the input rows do. Integer labels come back one-hot encoded even
        when nothing is mixed (`training=False`, `prob=0`), so the output
        format does not depend on those.

    Raises:
        ValueError: If `alpha` <= 0, `prob` is outside [0, 1], labels are
            class indices without `num_classes`, images do not have rank 4,
            or labels and images have different static batch sizes; and,
            checked eagerly, if a class index is not a whole number in
            `[0, num_classes)` (integer or float, e.g. `2.5`, `-1`, NaN) or
            one-hot / soft labels hold NaN or inf. Inside a graph the values
            are unknown: an invalid class index becomes a row of NaN and a
            NaN label stays NaN, so the loss is NaN (and a NaN stop such as
            `keras.callbacks.TerminateOnNaN` ends training).

    References:
        - [Zhang et al., 2018, mixup: Beyond Empirical Risk Minimization](
          https://arxiv.org/abs/1710.09412)

    Example:

    ```python
    images = np.random.rand(8, 32, 32, 3).astype("float32")
    labels = np.arange(8) % 10
    mixed_images, mixed_labels = kerasext.layers.Mixup(
        alpha=0.2, num_classes=10, seed=0
    )(images, labels)  # mixed_labels: (8, 10) floats
    # In a tf.data pipeline of (images, int labels) batches:
    ds = ds.map(kerasext.layers.Mixup(num_classes=10))
    ```
    """

    def __init__(self, alpha=0.2, num_classes=None, prob=1.0, seed=None, **kwargs):
        super().__init__(num_classes=num_classes, prob=prob, seed=seed, **kwargs)
        self.alpha = float(check_positive("alpha", alpha))

    def _mix(self, images, labels):
        if self.prob == 0.0:
            return images, labels
        n = batch_size(images)
        lam = keras.random.beta((n,), self.alpha, self.alpha, seed=self.seed_generator)
        apply = self._sample_apply(n)
        if apply is not None:
            lam = ops.where(apply, lam, 1.0)
        return blend(images, lam), pair_blend([labels], lam)[0]

    def get_config(self):
        config = super().get_config()
        config["alpha"] = self.alpha
        return config
