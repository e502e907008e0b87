"""Whether decoded images are kept: `cache="auto" | "memory" | "none" | PATH`.

- `"none"`: every epoch reads and decodes the files again (memory bounded by a constant).
- `"memory"`: each split is decoded once into a uint8 array in memory.
- `"auto"` (default): `"memory"` when the decoded images of all splits (uint8, at the
  output size) take at most `AUTO_CACHE_BYTES` (1 GiB), else `"none"`.
- a folder PATH: each split is decoded once into a uint8 `.npy` file there, memory-mapped
  and read by index (the page cache, not the process, holds it); a later run with the same
  files, size and channels reuses it.
"""

import hashlib
import os

import numpy as np
import tensorflow as tf

from kerasext.data.images import unreadable_image
from kerasext.data.parts import ArrayPart, ArrayStore

AUTO_CACHE_BYTES = 1 << 30
MODES = ("auto", "memory", "none")


def check_cache(cache):
    """Returns `cache` (a mode or a local folder path), or raises a `ValueError` naming it."""
    if isinstance(cache, os.PathLike):
        cache = os.fspath(cache)
    if not isinstance(cache, str) or not cache:
        raise ValueError(
            f"`cache` must be 'auto', 'memory', 'none' or a folder path. Received: cache={cache!r}"
        )
    if cache not in MODES and "://" in cache:
        raise ValueError(f"`cache` must be a local folder (it is memory-mapped). Received: cache={cache!r}")
    return cache


def resolve(cache, nbytes):
    """The mode to use for decoded images taking `nbytes`: `"memory"`, `"none"` or a path."""
    if cache == "auto":
        return "memory" if nbytes <= AUTO_CACHE_BYTES else "none"
    return cache


def keep(parts, mode, key):
    """`parts` (a dict of streamed parts) decoded once into arrays, per `mode`; `"none"`: as is.

    Args:
        parts: `{split name: FilePart or TfdsPart}`.
        mode: `"memory"`, `"none"` or a folder path.
        key: what identifies the source (hashed into the cache file names with each part).
    """
    if mode == "none":
        return parts
    if mode == "memory" and all(hasattr(part, "paths") for part in parts.values()):
        return _keep_files(parts)
    return {name: _keep_one(part, mode, f"{key}|{name}") for name, part in parts.items()}


def _keep_files(parts):
    """Image files of every part decoded in one pass into one uint8 array the parts index."""
    names = list(parts)
    first = parts[names[0]]
    whole = type(first)(np.concatenate([parts[name].paths for name in names]),
                        np.concatenate([parts[name].labels for name in names]), first.format)
    x = np.empty((whole.size, *whole.format.shape), np.uint8)
    store = ArrayStore(x, _decode_all(whole, x), divisor=255)
    ends = np.cumsum([parts[name].size for name in names])
    return {name: ArrayPart(store, np.arange(end - parts[name].size, end))
            for name, end in zip(names, ends)}


def _keep_one(part, mode, key):
    shape = (part.size, *part.format.shape)
    if mode == "memory":
        x = np.empty(shape, np.uint8)
        y = _decode_all(part, x)
        return ArrayPart(ArrayStore(x, y, divisor=255), np.arange(part.size))
    os.makedirs(mode, exist_ok=True)
    digest = hashlib.sha256(f"{key}|{part.format.shape}|{_content_key(part)}".encode()).hexdigest()[:16]
    path, labels_path = (os.path.join(mode, f"kerasext-{digest}{end}.npy") for end in ("", "-labels"))
    if not (os.path.isfile(path) and os.path.isfile(labels_path)):
        partial = path + ".partial"
        out = np.lib.format.open_memmap(partial, mode="w+", dtype=np.uint8, shape=shape)
        y = _decode_all(part, out)
        out.flush()
        del out
        np.save(labels_path, y)
        os.replace(partial, path)  # complete files only: a killed run leaves a .partial
    x = np.load(path, mmap_mode="r")
    return ArrayPart(ArrayStore(x, np.load(labels_path), divisor=255), np.arange(part.size))


def _decode_all(part, out):
    """Decodes a part in order into `out`; returns its labels.

    Raises:
        ValueError: naming an image file that fails to decode.
    """
    start, labels = 0, []
    try:
        for images, batch_labels in part.ordered_uint8(256).prefetch(2):
            images = images.numpy()
            out[start:start + len(images)] = images
            labels.append(batch_labels.numpy())
            start += len(images)
    except tf.errors.OpError as error:
        line = unreadable_image(error)
        if line is None:
            raise
        raise ValueError(line) from None
    if start != len(out):
        raise ValueError(f"Expected {len(out)} images, read {start}")
    return np.concatenate(labels).astype(np.int64)


def _content_key(part):
    paths = getattr(part, "paths", None)
    if paths is None:  # TFDS: its split and the kept record indices
        index = getattr(part, "index", None)
        return f"{part.expression}|{None if index is None else hashlib.sha256(index.tobytes()).hexdigest()}"
    stats = [f"{p}:{s.length}:{s.mtime_nsec}" for p in paths for s in [tf.io.gfile.stat(p)]]
    return hashlib.sha256("\n".join(stats).encode()).hexdigest()
