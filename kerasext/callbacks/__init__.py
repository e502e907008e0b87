"""Training callbacks: one-cycle and cosine LR/momentum, LR range test, diagnosis.

Pure Keras and backend-neutral: no TensorFlow. (Checkpoint and resume is
`kerasext.runner.BackupAndResume`.)
"""

from kerasext.callbacks.cosine_annealing import CosineAnnealing
from kerasext.callbacks.diagnosis import LearningCurveDiagnosis
from kerasext.callbacks.diagnosis import diagnose
from kerasext.callbacks.lr_finder import LRFinder
from kerasext.callbacks.lr_finder import LRFinderResult
from kerasext.callbacks.lr_finder import find_lr
from kerasext.callbacks.one_cycle import OneCycle

__all__ = [
    "CosineAnnealing",
    "LRFinder",
    "LRFinderResult",
    "LearningCurveDiagnosis",
    "OneCycle",
    "diagnose",
    "find_lr",
]
