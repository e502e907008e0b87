"""Small model families for recipes and sweeps: a plain CNN, an MLP, a residual CNN, and
`keras.applications` bases, with dropout, batch norm, L1/L2 and seeded initial weights."""

from kerasext.models.zoo import APPLICATIONS, FAMILIES, build_model

__all__ = ["APPLICATIONS", "FAMILIES", "build_model"]
