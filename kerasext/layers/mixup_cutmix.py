"""Mixup or CutMix, chosen at random per sample or per batch (timm's switch)."""

import keras
from keras import ops

from kerasext._validation import check_choice
from kerasext._validation import check_non_negative
from kerasext._validation import check_unit_interval
from kerasext.layers._boxes import cutmix_boxes
from kerasext.layers._inputs import batch_size
from kerasext.layers._inputs import image_size
from kerasext.layers._label_mixing import LabelMixingLayer
from kerasext.layers._labels import smooth_labels
from kerasext.layers._pairs import pair_blend
from kerasext.layers._pixels import blend
from kerasext.layers._pixels import paste_boxes

_MODES = ("elem", "batch")


@keras.saving.register_keras_serializable(package="kerasext")
class MixupCutMix(LabelMixingLayer):
    """Applies Mixup or CutMix, switching at random, with label smoothing.

    The Keras port of timm's `timm.data.Mixup`, the augmentation of the
    DeiT / ConvNeXt ImageNet recipes. With both `mixup_alpha` and
    `cutmix_alpha` > 0, CutMix is chosen with probability `switch_prob`
    and Mixup otherwise; setting one alpha to 0 disables that method (as
    in timm). `lam` is drawn from `Beta(alpha, alpha)` of the chosen
    method; the partner of sample `i` is sample `i xor 1` (timm uses
    `batch - 1 - i`; see `Mixup` for why we pair neighbours). CutMix label
    weights are the exact pasted pixel fractions after border clipping
    (timm's `correct_lam=True`).

    - `mode="elem"`: every sample draws its own choice, `lam`, box, and
      whether it is mixed at all (probability `prob`).
    - `mode="batch"`: one choice, one `lam`, one box and one coin (`prob`)
      for the whole batch, as in timm's default mode.

    Targets are smoothed before mixing, as timm's `mixup_target` does:
    `y * (1 - label_smoothing) + label_smoothing / classes`, also for samples
    that end up unmixed.

    Keras 3.15 has no built-in equivalent: `keras.layers.MixUp` and
    `keras.layers.CutMix` exist, but no layer picks one of them at random,
    per sample or per batch, and neither smooths labels. This layer exists
    to reproduce timm's recipe
    inside a `tf.data` pipeline, with per-sample switching done by one
    fused blend-and-paste pass over the batch (no per-sample loop).

    Args:
        mixup_alpha: Beta concentration for Mixup; 0 disables Mixup.
            Defaults to `0.8` (the DeiT recipe).
        cutmix_alpha: Beta concentration for CutMix; 0 disables CutMix.
            Defaults to `1.0`.
        prob: Probability of mixing a sample (`"elem"`) or the batch
            (`"batch"`). Defaults to `1.0`.
        switch_prob: Probability of CutMix rather than Mixup when both are
            enabled. Defaults to `0.5`.
        label_smoothing: Label smoothing applied to targets before mixing,
            in [0, 1]. Defaults to `0.0`.
        mode: `"elem"` (per sample) or `"batch"` (one draw per batch).
            Defaults to `"elem"` (timm defaults to `"batch"`).
        num_classes: Number of classes, needed for integer labels. Defaults
            to `None`.
        seed: Integer seed of the layer's `keras.random.SeedGenerator`.
            Defaults to `None`.
        **kwargs: Base layer keyword arguments, such as `name`.

    Call arguments:
        data: An `(images, labels)` tuple, a dict with keys "images" and
            "labels", or the images with the labels as the second argument.
        labels: The labels when `data` is the images.
        training: Python bool; `False` skips mixing and smoothing. Defaults
            to `True`.

    Returns:
        The same structure with mixed images (float; integer images stay
        integer only when `mixup_alpha=0`) and float labels
        `(batch, classes)` whose rows sum to 1 when the input rows do.

    Raises:
        ValueError: If an alpha is negative or both are 0, `prob`,
            `switch_prob` or `label_smoothing` is outside [0, 1], `mode` is
            not "elem" or "batch", or for the label and shape errors of
            `Mixup`.

    References:
        - [Zhang et al., 2018, mixup](https://arxiv.org/abs/1710.09412)
        - [Yun et al., 2019, CutMix](https://arxiv.org/abs/1905.04899)
        - [Touvron et al., 2021, DeiT](https://arxiv.org/abs/2012.12877)

    Example:

    ```python
    mix = kerasext.layers.MixupCutMix(
        mixup_alpha=0.8, cutmix_alpha=1.0, label_smoothing=0.1, num_classes=10
    )
    ds = ds.map(mix, num_parallel_calls=tf.data.AUTOTUNE)  # (images, int labels)
    ```
    """

    def __init__(
        self,
        mixup_alpha=0.8,
        cutmix_alpha=1.0,
        prob=1.0,
        switch_prob=0.5,
        label_smoothing=0.0,
        mode="elem",
        num_classes=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(num_classes=num_classes, prob=prob, seed=seed, **kwargs)
        self.mixup_alpha = float(check_non_negative("mixup_alpha", mixup_alpha))
        self.cutmix_alpha = float(check_non_negative("cutmix_alpha", cutmix_alpha))
        if self.mixup_alpha == 0.0 and self.cutmix_alpha == 0.0:
            raise ValueError(
                "At least one of `mixup_alpha` and `cutmix_alpha` must be > 0. "
                f"Received: mixup_alpha={mixup_alpha!r}, "
                f"cutmix_alpha={cutmix_alpha!r}"
            )
        self.switch_prob = float(check_unit_interval("switch_prob", switch_prob))
        self.label_smoothing = float(
            check_unit_interval("label_smoothing", label_smoothing)
        )
        self.mode = check_choice("mode", mode, _MODES)
        # Pure CutMix copies pixels, so integer images can stay integer.
        self._keeps_integer_images = self.mixup_alpha == 0.0

    def _mix(self, images, labels):
        labels = smooth_labels(labels, self.label_smoothing)
        if self.prob == 0.0:
            return images, labels
        n = batch_size(images) if self.mode == "elem" else 1
        gen = self.seed_generator
        with_mixup = self.mixup_alpha > 0.0
        with_cutmix = self.cutmix_alpha > 0.0
        use_cutmix = None  # per draw; None when only one method is enabled
        if with_mixup and with_cutmix:
            use_cutmix = keras.random.uniform((n,), seed=gen) < self.switch_prob
            alpha = ops.where(use_cutmix, self.cutmix_alpha, self.mixup_alpha)
        else:
            alpha = self.cutmix_alpha if with_cutmix else self.mixup_alpha
        lam = keras.random.beta((n,), alpha, alpha, seed=gen)
        apply = self._sample_apply(n)
        if apply is not None:
            lam = ops.where(apply, lam, 1.0)
        if not with_cutmix:
            return blend(images, lam), pair_blend([labels], lam)[0]

        height, width, _ = image_size(images)
        cut_apply = apply
        if use_cutmix is not None:
            cut_apply = (
                use_cutmix if apply is None else ops.logical_and(apply, use_cutmix)
            )
        top, bottom, left, right, pasted = cutmix_boxes(
            lam, cut_apply, height, width, gen
        )
        if use_cutmix is None:  # CutMix only.
            images = paste_boxes(images, top, bottom, left, right)
            return images, pair_blend([labels], 1.0 - pasted)[0]

        if self.mode == "batch":
            # One method for the whole batch: run only that one. (All random
            # draws happen above, outside the branches.)
            def cutmix_branch():
                out = paste_boxes(images, top, bottom, left, right)
                return out, pair_blend([labels], 1.0 - pasted)[0]

            def mixup_branch():
                return blend(images, lam), pair_blend([labels], lam)[0]

            return ops.cond(use_cutmix[0], cutmix_branch, mixup_branch)

        # Both, per sample: blend the Mixup draws (CutMix draws get lam = 1, i.e. stay
        # as they are), then paste the partners' boxes for the CutMix draws
        # (their boxes are empty for Mixup draws).
        mix_lam = ops.where(use_cutmix, 1.0, lam)
        images = paste_boxes(images, top, bottom, left, right, mix_lam)
        label_weight = ops.where(use_cutmix, 1.0 - pasted, mix_lam)
        return images, pair_blend([labels], label_weight)[0]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "mixup_alpha": self.mixup_alpha,
                "cutmix_alpha": self.cutmix_alpha,
                "switch_prob": self.switch_prob,
                "label_smoothing": self.label_smoothing,
                "mode": self.mode,
            }
        )
        return config
