"""Learning curves: loss and accuracy per epoch, training against validation, and the schedule."""

import math

from matplotlib.ticker import MaxNLocator

from kerasext.plot._save import new_figure
from kerasext.plot._save import save_figure

MOMENTUM_KEYS = ("momentum", "beta_1")


def _is_schedule(name):
    return name.startswith("learning_rate") or name in MOMENTUM_KEYS


def _varies(values):
    finite = {v for v in values if not math.isnan(v)}
    return len(finite) > 1


def plot_history(history, path, title=None, note=None):
    """Writes a PNG of each metric in a Keras history, train and validation overlaid.

    A `learning_rate` column (and `learning_rate_<optimizer>` ones) gets a panel of its
    own, and a `momentum` (or `beta_1`) column one more when it changes between epochs.

    Args:
        history: a `keras.callbacks.History` or its `.history` dict.
        path: where to write the PNG.
        title: figure title. Defaults to `None`.
        note: text written under the plots (e.g. a diagnosis verdict). Defaults to `None`.

    Returns:
        `path`.

    Draws on its own Agg canvas (no pyplot, no change to matplotlib's
    backend) and writes the file through a temporary file and a rename.
    """
    history = getattr(history, "history", history)
    names = [k for k in history if not k.startswith("val_") and not _is_schedule(k)]
    rates = [k for k in history if k.startswith("learning_rate") and history[k]]
    moms = [k for k in history if k in MOMENTUM_KEYS and _varies(history[k])]
    if not names and not rates and not moms:
        names = list(history)
    panels = [*names, *([rates] if rates else []), *([moms] if moms else [])]
    fig = new_figure(figsize=(4.5 * len(panels), 3.6))
    axes = fig.subplots(1, len(panels), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        if isinstance(panel, list):  # learning rates or momentum: one line per column
            for name in panel:
                ax.plot(range(1, len(history[name]) + 1), history[name], marker=".", label=name)
            ax.set_ylabel("learning rate" if panel is rates else "momentum")
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
        else:
            epochs = range(1, len(history[panel]) + 1)
            ax.plot(epochs, history[panel], marker=".", label="train")
            if f"val_{panel}" in history:
                ax.plot(epochs, history[f"val_{panel}"], marker=".", label="validation")
            ax.set_ylabel(panel)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    if note:
        fig.text(0.5, 0.01, note, ha="center", va="bottom", fontsize=9)
    fig.tight_layout(rect=(0, 0.06 if note else 0, 1, 1))
    return save_figure(fig, path, dpi=100)
