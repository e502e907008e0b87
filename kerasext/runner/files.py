"""The files of a run folder, each written whole: into a temporary file beside it, then renamed.

A reader (a resumed run, a sweep reading metrics.json, TensorBoard) never sees half a file,
and a kill during a write leaves the previous version. `tf.io.gfile` makes the same calls
work for local folders and `gs://` (where a rename is a copy, still never half a file).
"""

import contextlib
import json
import os
import uuid

import tensorflow as tf

CONFIG, MODEL, HISTORY, METRICS, CURVES, LOGS, BACKUP = (
    "config.json", "model.keras", "history.csv", "metrics.json", "curves.png", "logs", "backup",
)
OWNER = "owner.json"  # in the backup folder: the run whose checkpoints it holds
_written = [None]  # the last file written whole, named by a failure's line (`run_cli`)


@contextlib.contextmanager
def replacing(path):
    """Yields a temporary path beside `path` (same extension); renamed to `path` on success.

    For writers that take a path (`model.save`, a plot): `with replacing(p) as tmp: model.save(tmp)`.
    On an exception the temporary file is removed and `path` is left as it was.
    """
    folder, name = os.path.split(path)
    stem, extension = os.path.splitext(name)
    temporary = os.path.join(folder, f".{stem}.{uuid.uuid4().hex[:8]}.tmp{extension}")
    try:
        yield temporary
        tf.io.gfile.rename(temporary, path, overwrite=True)
        _written[0] = path
    except BaseException:
        if tf.io.gfile.exists(temporary):
            tf.io.gfile.remove(temporary)
        raise


def write_text(path, content):
    """Writes `content` (`str`, or `bytes`) to `path` whole. Returns `path`."""
    with replacing(path) as temporary:
        with tf.io.gfile.GFile(temporary, "wb" if isinstance(content, bytes) else "w") as file:
            file.write(content)
    return path


def write_json(path, obj):
    """Writes `obj` as indented JSON (NumPy values, tuples and sets as lists). Returns `path`."""
    return write_text(path, json.dumps(obj, indent=2, default=jsonable) + "\n")


def read_json(path):
    with tf.io.gfile.GFile(path) as file:
        return json.load(file)


def last_written():
    """The path of the last file this process wrote whole (since `forget_written`), or `None`."""
    return _written[0]


def forget_written():
    _written[0] = None


def jsonable(value):
    """`json.dumps`'s `default`: arrays and NumPy scalars as lists/numbers, the rest as text."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)
