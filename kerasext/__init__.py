"""kerasext: training extensions and measured recipes for Keras 3."""

from kerasext._quiet_import import import_tensorflow as _import_tensorflow

_import_tensorflow()  # before Keras does, so recipes' errors stay one line

__version__ = "0.1.0"
