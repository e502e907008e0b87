"""Measured comparisons: train variants from the same weights, tabulate, write comparison.md.

`fit_variant` trains one variant (weights reset, fresh compile) and measures it;
`Comparison` collects the measurements as rows and writes the README-ready markdown table
(`comparison.md`) and the dict a recipe records in metrics.json under `results`;
`python -m kerasext.results.table runs/` gathers every recipe's latest table into one.
"""

from kerasext.results.comparison import COMPARISON_FILE, Comparison, command_line, format_value
from kerasext.results.plots import plot_variants
from kerasext.results.training import (
    EpochTimer,
    VariantResult,
    epochs_to_target,
    fit_variant,
    summarize_history,
)

__all__ = [
    "COMPARISON_FILE",
    "Comparison",
    "EpochTimer",
    "VariantResult",
    "command_line",
    "epochs_to_target",
    "fit_variant",
    "format_value",
    "plot_variants",
    "summarize_history",
]
