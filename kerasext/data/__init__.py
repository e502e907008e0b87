"""Data loading: an embedded default (digits), TFDS, folders and .npz; splits, k-fold, label checks."""

from kerasext.data.checks import check_labels, check_targets
from kerasext.data.pipeline import (
    DataPosition,
    DatasetInfo,
    KFold,
    Splits,
    apply_augmentation,
    kfold,
    load,
    make_dataset,
    position_of,
)
from kerasext.data.sources import Arrays, load_arrays
from kerasext.data.splits import kfold_indices, stratified_split
