"""kerasext: training extensions and measured recipes for Keras 3."""

from kerasext._quiet_import import import_tensorflow as _import_tensorflow

_import_tensorflow()  # before Keras does, so recipes' errors stay one line

__version__ = "0.1.0"


def __getattr__(name):
    # `kerasext.find_lr(...)`, the LR range test, without importing callbacks at `import kerasext`.
    if name == "find_lr":
        from kerasext.callbacks import find_lr

        return find_lr
    raise AttributeError(f"module 'kerasext' has no attribute {name!r}")
