"""Losses: focal (multi-class and binary) and label-smoothed cross-entropy.

Each is a function computing per-sample losses plus a thin
`keras.losses.Loss` subclass; every class accepts integer and one-hot labels
(`label_format = "sparse_or_dense"`) and is stable from logits in float16.
"""

from kerasext.losses.binary_focal_loss import BinaryFocalLoss
from kerasext.losses.binary_focal_loss import binary_focal_loss
from kerasext.losses.focal_loss import FocalLoss
from kerasext.losses.focal_loss import focal_loss
from kerasext.losses.label_smoothing import LabelSmoothingCrossEntropy
from kerasext.losses.label_smoothing import label_smoothing_cross_entropy

__all__ = [
    "BinaryFocalLoss",
    "FocalLoss",
    "LabelSmoothingCrossEntropy",
    "binary_focal_loss",
    "focal_loss",
    "label_smoothing_cross_entropy",
]
