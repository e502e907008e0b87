"""A confusion matrix as a picture: counts, coloured by each true class's share."""

import numpy as np

from kerasext.plot._save import new_figure
from kerasext.plot._save import save_figure

MAX_TICKS = 40  # more classes than this: no class names and no counts in the cells


def plot_confusion_matrix(matrix, path, labels=None, title=None):
    """Writes a PNG of a confusion matrix: rows true classes, columns predicted ones.

    Each cell shows its count; its colour is the count over its row's total (the share of
    that true class predicted as the column's), so rare classes stay readable.

    Args:
        matrix: square array-like of counts, `matrix[true, predicted]`.
        path: where to write the PNG.
        labels: class names, one per row. Defaults to `None` (the class indices).
        title: figure title. Defaults to `None`.

    Returns:
        `path`.

    Raises:
        ValueError: if `matrix` is not square and non-empty, or `labels` has another length.

    Example:

    ```python
    plot_confusion_matrix([[5, 1], [0, 4]], "confusion_matrix.png", labels=["cat", "dog"])
    ```
    """
    counts = np.asarray(matrix)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.size == 0:
        raise ValueError(
            f"`matrix` must be a non-empty square array of counts. Received: matrix with "
            f"shape {counts.shape}"
        )
    size = counts.shape[0]
    labels = [str(i) for i in range(size)] if labels is None else [str(n) for n in labels]
    if len(labels) != size:
        raise ValueError(
            f"`labels` must name the matrix's {size} classes. Received: labels={labels!r}"
        )
    totals = counts.sum(axis=1, keepdims=True)
    shares = counts / np.maximum(totals, 1)
    side = min(max(3.0, 0.45 * size + 2.0), 16.0)
    fig = new_figure(figsize=(side + 1.0, side))
    ax = fig.subplots()
    image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    if size <= MAX_TICKS:
        ax.set_xticks(range(size), labels, rotation=90 if max(map(len, labels)) > 3 else 0)
        ax.set_yticks(range(size), labels)
        for (row, column), count in np.ndenumerate(counts):
            if count:
                dark = shares[row, column] > 0.5
                ax.text(column, row, f"{count:g}", ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)
