"""Data loading: digits and `.npz` in memory, image folders and TFDS streamed from disk;
stratified splits, k-fold, resumable shuffling and augmentation, label checks."""

from kerasext.data.augment import apply_augmentation
from kerasext.data.cache import AUTO_CACHE_BYTES
from kerasext.data.checks import check_labels, check_targets
from kerasext.data.images import unreadable_image
from kerasext.data.pipeline import (
    DatasetInfo,
    KFold,
    Splits,
    kfold,
    load,
    make_dataset,
)
from kerasext.data.plan import split_arrays
from kerasext.data.position import DataPosition, position_of
from kerasext.data.sources import Arrays, load_arrays
from kerasext.data.splits import kfold_indices, stratified_split
