"""Where examples come from: digits, an `.npz` file, a folder of class subfolders, or TFDS.

Digits and `.npz` files are small and held in memory. A folder is a file list (labels
from the folder names) whose images are decoded in the pipeline; a TFDS data set is read
record by record from its prepared files. Either may live on `gs://`.
"""

import dataclasses
import os

import numpy as np

from kerasext._validation import check_choice
from kerasext.data import cache as cache_lib
from kerasext.data.checks import check_labels
from kerasext.data.folders import default_size, list_folder
from kerasext.data.images import IMAGE_EXTENSIONS, ImageFormat  # noqa: F401  (re-exported)
from kerasext.data.parts import ArrayPart, ArrayStore, FilePart, TfdsPart


@dataclasses.dataclass
class Arrays:
    """A whole data set in memory."""

    x: np.ndarray
    y: np.ndarray
    class_names: list
    name: str


def load_arrays(source="digits", *, data_dir=None, image_size=None, channels=None,
                skip_bad_images=False):
    """Loads a whole data set as arrays in memory (a TFDS set: all its splits, concatenated).

    `load` streams folders and TFDS sets instead; this is for code that wants NumPy.

    Args:
        source: `"digits"` (scikit-learn's bundled 8x8 digits, works offline), a path to an
            `.npz` file with `x` and `y` arrays (and optional `classes`), a path to a folder
            of class subfolders, a TFDS name such as `"cifar10"`, or `None` to read the
            folder of class subfolders given as `data_dir`.
        data_dir: with a TFDS name, the TFDS data folder (where a data set prepared on a
            machine with network was copied; defaults to TFDS' own); with `source=None`,
            the folder of class subfolders.
        image_size: an int or `(height, width)` to resize images to. Defaults to `None`
            (keep the source's size; a folder's images take the first image's size).
        channels: `1` or `3` to convert grayscale <-> RGB. Defaults to `None` (keep).
        skip_bad_images: leave unreadable image files out (and log how many) instead of
            raising. Defaults to `False`.

    Returns:
        An `Arrays` with `x` (float32 images in [0, 1], or float32 features for rank-2
        tabular data), `y` (int64 class ids), `class_names` and `name`.

    Raises:
        ValueError: for an unknown source, a missing or malformed file or folder, bad
            labels, an unreadable image, or a TFDS data set that cannot be downloaded.
    """
    found = open_source(source, data_dir, image_size, channels, skip_bad_images)
    if isinstance(found, MemorySource):
        x = found.x if found.divisor is None else (found.x / np.float32(found.divisor)).astype(np.float32)
        return Arrays(x, found.y, found.class_names, found.name)
    if isinstance(found, FolderSource):
        part = found.part(np.arange(len(found.y)))
    else:
        part = found.whole()
    kept = cache_lib.keep({"all": part}, "memory", found.name)["all"]
    x = (kept.store.x / np.float32(255)).astype(np.float32)
    return Arrays(x, kept.labels, found.class_names, found.name)


def open_source(source, data_dir, image_size, channels, skip_bad_images=False):
    """The source named by `source` / `data_dir`: a `MemorySource`, `FolderSource` or `TfdsSource`."""
    image_size = _size_pair(image_size)
    check_choice("channels", channels, (None, 1, 3))
    if isinstance(channels, bool):  # True == 1 passes the choice
        raise ValueError(f"`channels` must be one of [None, 1, 3]. Received: channels={channels!r}")
    if source is None:
        if data_dir is None:
            raise ValueError("Give a `source` (dataset) or a `data_dir` of class subfolders.")
        return FolderSource(list_folder(data_dir, "data_dir", skip_bad_images), image_size, channels)
    text = os.fspath(source)
    if text == "digits":
        return _digits().shaped(image_size, channels)
    if text.endswith(".npz") or os.path.isfile(text):
        return _npz(text).shaped(image_size, channels)
    if "://" in text or os.path.isdir(text) or os.sep in text:
        return FolderSource(list_folder(text, "dataset", skip_bad_images), image_size, channels)
    return TfdsSource(text, data_dir, image_size, channels)


class MemorySource:
    """Arrays in memory: `x` as stored (integer images are scaled by `divisor` in the pipeline)."""

    def __init__(self, x, y, class_names, name, divisor=None):
        self.x, self.y, self.class_names, self.name, self.divisor = x, y, class_names, name, divisor
        self.input_shape = tuple(int(d) for d in x.shape[1:])
        self._store = None

    def shaped(self, image_size, channels):
        """Resizes and converts channels up front (as float32), as a source of images should."""
        if self.x.ndim == 2:
            if image_size or channels:
                raise ValueError(
                    f"`{self.name}` holds tabular features of shape {self.x.shape[1:]}; "
                    f"`image_size` and `channels` apply to images only. Received: "
                    f"image_size={image_size}, channels={channels}"
                )
            return self
        if (image_size is None or tuple(self.x.shape[1:3]) == image_size) and (
                channels is None or self.x.shape[-1] == channels):
            return self
        x = self.x if self.divisor is None else (self.x / np.float32(self.divisor)).astype(np.float32)
        x = _convert_channels(_resize(x, image_size), channels)
        return MemorySource(x, self.y, self.class_names, self.name)

    def nbytes(self, count):
        return 0  # already in memory

    def part(self, index):
        if self._store is None:
            self._store = ArrayStore(self.x, self.y, self.divisor)
        return ArrayPart(self._store, index)


class FolderSource:
    """A folder of class subfolders, as a file list; images are decoded in the pipeline."""

    def __init__(self, files, image_size, channels):
        self.files, self.name, self.class_names = files, files.name, files.class_names
        self.y = files.labels
        self.format = ImageFormat(image_size or default_size(files), channels or 3)
        self.input_shape = self.format.shape

    def nbytes(self, count):
        return self.format.nbytes(count)

    def part(self, index):
        return FilePart(self.files.paths[index], self.y[index], self.format)


class TfdsSource:
    """A prepared TFDS data set, read lazily; see `kerasext.data.tfds_sets` for the split policy."""

    def __init__(self, name, data_dir, image_size, channels):
        from kerasext.data.tfds_sets import TfdsSet, open_builder

        self.set = TfdsSet(open_builder(name, data_dir), name)
        self.name = name
        self.data_dir = data_dir
        height, width, depth = self.set.feature_shape
        size = image_size or ((height, width) if height and width else self.set.first_image_size())
        self.format = ImageFormat(size, channels or depth or 3)
        self.input_shape = self.format.shape

    @property
    def class_names(self):
        return self.set.class_names

    def nbytes(self, count):
        return self.format.nbytes(count)

    def plan(self, resplit):
        return self.set.plan(resplit)

    def labels(self, expression):
        return self.set.labels(expression)

    def part(self, expression, index=None, labels=None):
        """Records of `expression` (those at `index`, when given)."""
        if labels is None:  # a whole official split, not split here: count it, labels unused
            return TfdsPart(self.set, expression, self.format, size=self.set.size(expression))
        return TfdsPart(self.set, expression, self.format, index=index, labels=labels[index])

    def whole(self):
        expression = "+".join(self.set.splits)
        labels = self.labels(expression)
        return self.part(expression, np.arange(len(labels)), labels)


def _digits():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)[..., None]
    return MemorySource(x, bunch.target.astype(np.int64), [str(c) for c in bunch.target_names], "digits")


def _npz(path):
    if not os.path.isfile(path):
        raise ValueError(f"`dataset` file does not exist. Received: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, EOFError, ValueError, AttributeError) as error:  # not a zip, a pickle, ...
        reason = (str(error).splitlines() or [type(error).__name__])[0][:120]
        raise ValueError(f"Cannot read {path} as .npz: {reason}") from None
    if not {"x", "y"} <= set(arrays):
        raise ValueError(
            f"An .npz data set needs arrays `x` and `y`. Received: {path} with "
            f"keys {sorted(arrays)}"
        )
    x, y = arrays["x"], arrays["y"]
    classes = list(map(str, arrays["classes"])) if "classes" in arrays else None
    if len(x) != len(y):
        raise ValueError(
            f"`x` and `y` in {path} must have the same length. Received: "
            f"len(x)={len(x)}, len(y)={len(y)}"
        )
    if len(x) == 0:
        raise ValueError(f"{path} holds no examples (len(x)=0)")
    y = check_labels(y, num_classes=len(classes) if classes else None, name=f"y in {path}")
    if classes is None:
        classes = [str(c) for c in range(int(y.max()) + 1)]
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim not in (2, 4):
        raise ValueError(
            f"`x` in {path} must be images (N, H, W[, C]) or features (N, F). "
            f"Received: shape {x.shape}"
        )
    name = os.path.splitext(os.path.basename(path))[0]
    if x.ndim == 2:
        return MemorySource(_features(x, path), y, classes, name)
    x, divisor = image_array(x, path)
    return MemorySource(x, y, classes, name, divisor)


def image_array(x, where):
    """Images as stored, and the divisor that scales them to [0, 1] (`None`: float32 already).

    uint8 and uint16 (and int8, int16) are scaled by their dtype's range (255, 65535,
    127, 32767). Wider integers (int32, int64, uint32, uint64: NumPy's defaults, no image
    format's) hold 8- or 16-bit pixel values: they are stored as uint8 or uint16 by their
    largest value and scaled as such. Float images must already lie in [0, 1].

    Raises:
        ValueError: for non-numeric or non-finite values, negative integers, integers
            beyond 16 bits in a wide dtype, or float images outside [0, 1].
    """
    if x.dtype.kind not in "uif":
        raise ValueError(f"`x` in {where} must be numeric. Received: dtype {x.dtype}")
    if x.dtype.kind == "f":
        x = x.astype(np.float32)
        if not np.isfinite(x).all():
            raise ValueError(f"`x` in {where} holds NaN or infinite values")
        low, high = float(x.min()), float(x.max())
        if low < 0 or high > 1:
            raise ValueError(
                f"Float images in {where} must lie in [0, 1]. Received: values from {low:g} "
                f"to {high:g} (scale them, e.g. x / 255, or store integers)"
            )
        return x, None
    low, high = int(x.min()), int(x.max())
    if low < 0:
        raise ValueError(
            f"Integer images in {where} must not be negative. Received: dtype {x.dtype}, "
            f"values from {low} to {high}"
        )
    if x.dtype in (np.uint8, np.uint16, np.int8, np.int16):
        return x, int(np.iinfo(x.dtype).max)
    if high > 65535:
        raise ValueError(
            f"Integer images in {where} of dtype {x.dtype} must hold 8- or 16-bit pixel "
            f"values. Received: values from {low} to {high} (store them as uint8 or uint16)"
        )
    if high > 255:
        return x.astype(np.uint16), 65535
    return x.astype(np.uint8), 255


def _features(x, where):
    if x.dtype.kind not in "uif":
        raise ValueError(f"`x` in {where} must be numeric. Received: dtype {x.dtype}")
    x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise ValueError(f"`x` in {where} holds NaN or infinite values")
    return x


def _resize(x, image_size):
    if image_size is None or tuple(x.shape[1:3]) == image_size:
        return x
    import tensorflow as tf

    return tf.image.resize(x, image_size).numpy().astype(np.float32)


def _convert_channels(x, channels):
    if channels is None or x.shape[-1] == channels:
        return x
    if channels == 3 and x.shape[-1] == 1:
        return np.repeat(x, 3, axis=-1)
    if channels == 1 and x.shape[-1] == 3:
        return (x @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
    raise ValueError(f"Cannot convert {x.shape[-1]} channels to channels={channels}")


def _size_pair(image_size):
    if image_size is None:
        return None
    pair = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if len(pair) != 2 or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in pair):
        raise ValueError(
            f"`image_size` must be a positive int or (height, width). "
            f"Received: image_size={image_size!r}"
        )
    return pair
