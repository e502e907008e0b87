"""Augmentation layers: Cutout, Mixup, CutMix, timm's Mixup/CutMix switch and RandomShift.

Each layer works eagerly, inside `tf.function`, inside `tf.data.Dataset.map`
(TensorFlow backend) and under JAX. Layers with `mixes_labels = True` take
`(images, labels)` and return mixed float labels; `Cutout` and `RandomShift`
(a whole-pixel translation) take images (and pass labels through).
`get_augmentation(name, **options)` builds any of them, or Keras' flip /
rotation / translation, by name (`AUGMENTATIONS`).
"""

from kerasext.layers.cutmix import CutMix
from kerasext.layers.cutout import Cutout
from kerasext.layers.mixup import Mixup
from kerasext.layers.mixup_cutmix import MixupCutMix
from kerasext.layers.random_shift import RandomShift
from kerasext.layers.registry import AUGMENTATIONS
from kerasext.layers.registry import get_augmentation
from kerasext.layers.registry import register_augmentation

__all__ = [
    "AUGMENTATIONS",
    "CutMix",
    "Cutout",
    "Mixup",
    "MixupCutMix",
    "RandomShift",
    "get_augmentation",
    "register_augmentation",
]
