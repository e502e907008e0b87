"""Augmentation layers: Cutout, Mixup, CutMix and timm's Mixup/CutMix switch.

Each layer works eagerly, inside `tf.function`, inside `tf.data.Dataset.map`
(TensorFlow backend) and under JAX. Layers with `mixes_labels = True` take
`(images, labels)` and return mixed float labels; `Cutout` takes images (and
passes labels through).
"""

from kerasext.layers.cutmix import CutMix
from kerasext.layers.cutout import Cutout
from kerasext.layers.mixup import Mixup
from kerasext.layers.mixup_cutmix import MixupCutMix

__all__ = ["CutMix", "Cutout", "Mixup", "MixupCutMix"]
