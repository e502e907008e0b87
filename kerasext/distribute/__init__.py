"""Distribution: one strategy factory for TPU, multi-GPU and multi-worker, and batch/LR scaling."""

from kerasext.distribute.multi_worker import MultiWorkerMirroredStrategy
from kerasext.distribute.strategy import (
    KINDS,
    cluster_workers,
    get_strategy,
    global_batch_size,
    is_chief,
    scale_learning_rate,
    tf_config,
)
