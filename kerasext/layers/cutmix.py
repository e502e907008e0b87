"""CutMix: paste a box from a partner image, mix labels by area (Yun et al.)."""

import keras

from kerasext._validation import check_positive
from kerasext.layers._boxes import cutmix_boxes
from kerasext.layers._inputs import batch_size
from kerasext.layers._inputs import image_size
from kerasext.layers._label_mixing import LabelMixingLayer
from kerasext.layers._pairs import pair_blend
from kerasext.layers._pixels import paste_boxes


@keras.saving.register_keras_serializable(package="kerasext")
class CutMix(LabelMixingLayer):
    """Pastes a box from a partner image; labels mixed by pasted area.

    For sample `i` with partner `j = i xor 1` (pairs (0, 1), (2, 3), ...,
    the last sample of an odd batch is its own partner; see `Mixup` for why),
    draws `lam_i ~ Beta(alpha, alpha)` and a box of side ratio
    `sqrt(1 - lam_i)` (height `int(H * ratio)`, width `int(W * ratio)`)
    centred on a pixel drawn uniformly over the image, clipped at the
    border, then copies image `j` into that box of image `i`. The label is
    `(1 - f_i) * y_i + f_i * y_j` where `f_i` is the fraction of pixels
    actually pasted, computed from the clipped integer box, so the label
    weight equals the pasted pixel fraction exactly. (KerasCV's `CutMix`
    weights labels by the unclipped `cut_height * cut_width`, which
    overstates the partner's share whenever the box hangs over the border;
    timm's `correct_lam=True` does what we do.) Each sample is mixed with
    probability `prob`.

    Keras' nearest built-in is `keras.layers.CutMix`, which keeps the box
    inside the image, uses fractional box corners (so its label weight is
    the fractional area, not the pixel count), builds a mask repeated over
    channels, needs one-hot labels in a dict, and always casts to float.
    `CutMix` exists for the exact label weight, the paper's border clipping,
    integer labels, `prob`, the tuple forms used by `ds.map`, keeping the
    image dtype, and speed (one select pass, XLA-fused in a TensorFlow
    graph; measured in `benchmarks/results.md`).

    Args:
        alpha: Concentration of the symmetric Beta distribution of `lam`;
            must be > 0. Defaults to `1.0` (uniform), as in the paper.
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
            "labels", or the images with the labels as the second argument.
            Images have shape `(batch, height, width, channels)`.
        labels: The labels when `data` is the images.
        training: Python bool; `False` skips the mixing. Defaults to `True`.

    Returns:
        The same structure with images of the input dtype (pixels are
        copied, never blended) and float labels `(batch, classes)` whose
        rows sum to 1 when the input rows do.

    Raises:
        ValueError: If `alpha` <= 0, `prob` is outside [0, 1], or for the
            label and shape errors of `Mixup` (class indices, integer or
            float, must be whole numbers in `[0, num_classes)` and soft
            labels finite, checked eagerly; in a graph an invalid label
            becomes a NaN row, hence a NaN loss).

    References:
        - [Yun et al., 2019, CutMix](https://arxiv.org/abs/1905.04899)

    Example:

    ```python
    images = np.random.randint(0, 256, (8, 32, 32, 3), dtype="uint8")
    labels = np.arange(8) % 10
    out_images, out_labels = kerasext.layers.CutMix(num_classes=10)(
        images, labels
    )  # out_images: uint8; out_labels: (8, 10) floats
    ```
    """

    _keeps_integer_images = True

    def __init__(self, alpha=1.0, num_classes=None, prob=1.0, seed=None, **kwargs):
        super().__init__(num_classes=num_classes, prob=prob, seed=seed, **kwargs)
        self.alpha = float(check_positive("alpha", alpha))

    def _mix(self, images, labels):
        if self.prob == 0.0:
            return images, labels
        n = batch_size(images)
        height, width, _ = image_size(images)
        lam = keras.random.beta((n,), self.alpha, self.alpha, seed=self.seed_generator)
        top, bottom, left, right, pasted = cutmix_boxes(
            lam, self._sample_apply(n), height, width, self.seed_generator
        )
        images = paste_boxes(images, top, bottom, left, right)
        return images, pair_blend([labels], 1.0 - pasted)[0]

    def get_config(self):
        config = super().get_config()
        config["alpha"] = self.alpha
        return config
