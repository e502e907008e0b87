"""kerasext: training extensions and measured recipes for Keras 3."""

__version__ = "0.1.0"
