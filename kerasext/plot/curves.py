"""Learning curves: loss and accuracy per epoch, training against validation."""

from kerasext.plot._save import new_figure
from kerasext.plot._save import save_figure


def plot_history(history, path, title=None, note=None):
    """Writes a PNG of each metric in a Keras history, train and validation overlaid.

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
    names = [k for k in history if not k.startswith("val_") and k != "learning_rate"]
    names = names or list(history)
    fig = new_figure(figsize=(4.5 * len(names), 3.6))
    axes = fig.subplots(1, len(names), squeeze=False)
    for ax, name in zip(axes[0], names):
        epochs = range(1, len(history[name]) + 1)
        ax.plot(epochs, history[name], marker=".", label="train")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], marker=".", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    if note:
        fig.text(0.5, 0.01, note, ha="center", va="bottom", fontsize=9)
    fig.tight_layout(rect=(0, 0.06 if note else 0, 1, 1))
    return save_figure(fig, path, dpi=100)
