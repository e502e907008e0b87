"""Weight initializers chosen by activation: He, Glorot or LeCun."""

from kerasext.initializers.by_activation import INITIALIZERS, for_activation, initializer_name

__all__ = ["INITIALIZERS", "for_activation", "initializer_name"]
