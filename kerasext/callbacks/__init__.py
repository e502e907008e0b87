"""Training callbacks: one-cycle and cosine LR/momentum, LR range test, diagnosis, backup."""

from kerasext.callbacks.backup import BackupAndResume
from kerasext.callbacks.backup import latest_checkpoint
from kerasext.callbacks.cosine_annealing import CosineAnnealing
from kerasext.callbacks.diagnosis import LearningCurveDiagnosis
from kerasext.callbacks.diagnosis import diagnose
from kerasext.callbacks.lr_finder import LRFinder
from kerasext.callbacks.lr_finder import LRFinderResult
from kerasext.callbacks.lr_finder import find_lr
from kerasext.callbacks.one_cycle import OneCycle

__all__ = [
    "BackupAndResume",
    "latest_checkpoint",
    "CosineAnnealing",
    "LRFinder",
    "LRFinderResult",
    "LearningCurveDiagnosis",
    "OneCycle",
    "diagnose",
    "find_lr",
]
