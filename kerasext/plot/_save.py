"""Writing figures atomically: a reader never sees a half-written file."""

import os
import tempfile

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def new_figure(**kwargs):
    """A `Figure` on its own Agg canvas: no pyplot, no global backend switch."""
    figure = Figure(**kwargs)
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure, path, **kwargs):
    """`figure.savefig(path, **kwargs)` through a temporary file and a rename.

    The format comes from `path`'s extension (PNG when it has none), as
    `savefig` would choose it. A file-like `path` is written directly.

    Returns:
        `path`.
    """
    if not isinstance(path, (str, os.PathLike)):
        figure.savefig(path, **kwargs)
        return path
    target = os.fspath(path)
    extension = os.path.splitext(target)[1].lstrip(".").lower()
    kwargs.setdefault("format", extension or "png")
    folder = os.path.dirname(os.path.abspath(target))
    handle, temporary = tempfile.mkstemp(
        prefix=".tmp-", suffix=os.path.basename(target), dir=folder
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            figure.savefig(stream, **kwargs)
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    return path
