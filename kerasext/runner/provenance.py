"""What a run's metrics.json records about where its numbers came from."""

import hashlib
import os
import platform
import sys

import keras
import numpy as np
import tensorflow as tf


def weights_digest(model):
    """SHA-256 of the model's weights: equal digests, bitwise equal weights."""
    digest = hashlib.sha256()
    for weights in model.get_weights():
        digest.update(np.ascontiguousarray(weights).tobytes())
    return digest.hexdigest()


def versions():
    """Python, TensorFlow, Keras, the backend, the CPU count and the command line."""
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "cpu_count": os.cpu_count(),
        "command": " ".join(sys.argv),
    }
