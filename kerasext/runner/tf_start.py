"""Imports TensorFlow without the C++ start-up lines it prints before its logging is set up.

TensorFlow 2.21 writes "oneDNN custom operations are on", "Could not find cuda drivers"
and absl's "All log messages before absl::InitializeLog()" straight to file descriptor 2
at import, whatever `TF_CPP_MIN_LOG_LEVEL` says. A recipe's error must be one line, so
the import runs with fd 2 captured, and every captured line except those is written back.
"""

import os
import re
import sys
import tempfile

_START_UP_NOISE = re.compile(
    r"absl::InitializeLog|oneDNN custom operations are on|cudart_stub\.cc|"
    r"Could not find cuda drivers|cuda_platform\.cc.*cuInit|"
    r"This TensorFlow binary is optimized|rebuild TensorFlow with the appropriate compiler"
)


def import_tensorflow():
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow

            tensorflow.config.list_physical_devices("GPU")  # CUDA's probe logs here, not later
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            for line in capture.read().decode(errors="replace").splitlines(keepends=True):
                if not _START_UP_NOISE.search(line):
                    sys.stderr.write(line)
