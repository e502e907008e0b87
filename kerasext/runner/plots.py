"""One picture of several variants' learning curves, overlaid."""

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from kerasext.runner import files


def plot_variants(histories, path, keys=("val_accuracy", "loss"), title=None, x="epoch", log_y=False):
    """Writes a PNG with one panel per key and one line per variant.

    Args:
        histories: `{variant name: history dict (or keras History)}`, in legend order.
        path: where the PNG goes.
        keys: the history keys to plot, one panel each. Defaults to
            `("val_accuracy", "loss")`. Keys a history lacks are skipped for it.
        title: the figure title. Defaults to `None`.
        x: x-axis label. Defaults to `"epoch"`.
        log_y: a logarithmic y axis. Defaults to `False`.

    Returns:
        `path`.

    Example:

    ```python
    plot_variants({"sgd": sgd.history, "adam": adam.history}, "optimizers.png")
    ```
    """
    keys = list(keys)
    if not keys:
        raise ValueError(f"`keys` must name at least one metric. Received: keys={keys!r}")
    figure = Figure(figsize=(5.0 * len(keys), 3.8))
    FigureCanvasAgg(figure)
    for index, key in enumerate(keys):
        axes = figure.add_subplot(1, len(keys), index + 1)
        for name, history in histories.items():
            values = getattr(history, "history", history).get(key)
            if values:
                axes.plot(range(1, len(values) + 1), values, marker=".", label=str(name))
        if log_y:
            axes.set_yscale("log")
        axes.set_xlabel(x)
        axes.set_ylabel(key)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    with files.replacing(path) as temporary:  # written whole, as every file of a run
        figure.savefig(temporary, format="png", dpi=100)
    return path
