"""Learning rate schedules whose position is the optimizer's step count.

Each is a `keras.optimizers.schedules.LearningRateSchedule`: pass it as an
optimizer's `learning_rate`, and it is saved with the model and continues
exactly after a restore.
"""

from kerasext.schedules.cyclical import Cyclical
from kerasext.schedules.one_cycle import OneCycle
from kerasext.schedules.one_cycle import one_cycle_momentum
from kerasext.schedules.step_decay import StepDecay
from kerasext.schedules.warmup import Warmup
from kerasext.schedules.warmup_cosine import WarmupCosine

__all__ = [
    "Cyclical",
    "OneCycle",
    "StepDecay",
    "Warmup",
    "WarmupCosine",
    "one_cycle_momentum",
]
