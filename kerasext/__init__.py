"""kerasext: training extensions and measured recipes for Keras 3.

Importing `kerasext` imports nothing heavy and changes nothing in the
process: no TensorFlow import, no environment variable, no redirected
stream. The recipes' quiet TensorFlow start lives in `kerasext.runner`.
"""

__version__ = "0.1.0"


def __getattr__(name):
    # `kerasext.find_lr(...)`, the LR range test, without importing callbacks at `import kerasext`.
    if name == "find_lr":
        from kerasext.callbacks import find_lr

        return find_lr
    raise AttributeError(f"module 'kerasext' has no attribute {name!r}")
