"""Where examples come from: digits, TFDS, a folder of class subfolders, or an `.npz` file.

Every source ends as NumPy arrays in memory: images as float32 in [0, 1], channels last,
and integer labels. That is what makes stratified, seeded, disjoint splits and k-fold simple
and exact; it suits data sets up to a few GB (CIFAR, flowers, digits). For ImageNet-scale
data, build the `tf.data` pipeline from TFDS splits directly.
"""

import dataclasses
import os

import numpy as np

from kerasext.data.checks import check_labels

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")  # what Keras' loader reads


@dataclasses.dataclass
class Arrays:
    """A whole data set in memory."""

    x: np.ndarray
    y: np.ndarray
    class_names: list
    name: str


def load_arrays(source="digits", *, data_dir=None, image_size=None, channels=None):
    """Loads a whole data set as arrays.

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

    Returns:
        An `Arrays` with `x` (float32 images in [0, 1], or float32 features for rank-2
        tabular data), `y` (int64 class ids), `class_names` and `name`.

    Raises:
        ValueError: for an unknown source, a missing or malformed file or folder, bad
            labels, or a TFDS data set that cannot be downloaded.
    """
    image_size = _size_pair(image_size)
    if channels not in (None, 1, 3):
        raise ValueError(f"`channels` must be None, 1 or 3. Received: channels={channels!r}")
    if source is None:
        if data_dir is None:
            raise ValueError("Give a `source` (dataset) or a `data_dir` of class subfolders.")
        arrays = _folder(os.fspath(data_dir), image_size, "data_dir")
    elif os.fspath(source) == "digits":
        arrays = _digits()
    elif os.fspath(source).endswith(".npz") or os.path.isfile(source):
        arrays = _npz(os.fspath(source))
    elif os.path.isdir(source) or os.sep in os.fspath(source):
        arrays = _folder(os.fspath(source), image_size, "dataset")
    else:
        arrays = _tfds(source, data_dir)
    if arrays.x.ndim == 2:
        if image_size or channels:
            raise ValueError(
                f"`{arrays.name}` holds tabular features of shape {arrays.x.shape[1:]}; "
                f"`image_size` and `channels` apply to images only. Received: "
                f"image_size={image_size}, channels={channels}"
            )
        return arrays
    arrays.x = _convert_channels(_resize(arrays.x, image_size), channels)
    return arrays


def _digits():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)[..., None]
    return Arrays(x, bunch.target.astype(np.int64), [str(c) for c in bunch.target_names], "digits")


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
    x = _to_float(x, path)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim not in (2, 4):
        raise ValueError(
            f"`x` in {path} must be images (N, H, W[, C]) or features (N, F). "
            f"Received: shape {x.shape}"
        )
    name = os.path.splitext(os.path.basename(path))[0]
    return Arrays(x, y, classes, name)


def _folder(path, image_size, arg):
    if not os.path.isdir(path):
        raise ValueError(f"`{arg}` does not exist or is not a folder. Received: {path}")
    classes = sorted(
        d for d in os.listdir(path) if os.path.isdir(os.path.join(path, d)) and d[0] != "."
    )
    if not classes:
        raise ValueError(f"`{arg}` has no class subfolders. Received: {path}")
    first_image = None
    for name in classes:
        images = [f for f in os.listdir(os.path.join(path, name)) if _is_image(f)]
        if not images:
            raise ValueError(
                f"Class folder {os.path.join(path, name)} has no images "
                f"({', '.join(IMAGE_EXTENSIONS)})"
            )
        first_image = first_image or os.path.join(path, name, sorted(images)[0])
    import keras

    if image_size is None:
        image = keras.utils.load_img(first_image)
        image_size = (image.height, image.width)
    dataset = keras.utils.image_dataset_from_directory(
        path, labels="inferred", label_mode="int", class_names=classes,
        image_size=image_size, batch_size=None, shuffle=False, verbose=False,
    )
    x = np.stack([image for image, _ in dataset.as_numpy_iterator()]) / np.float32(255)
    y = np.array([label for _, label in dataset.as_numpy_iterator()], dtype=np.int64)
    return Arrays(x.astype(np.float32), y, classes, os.path.basename(os.path.normpath(path)))


def _tfds(name, data_dir):
    import tensorflow_datasets as tfds

    if data_dir is not None and not os.path.isdir(data_dir):
        raise ValueError(f"`data_dir` does not exist. Received: {data_dir}")
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise ValueError(
            f"Unknown dataset {name!r}: not 'digits', not an existing .npz file or folder, "
            "and not a TFDS name."
        ) from None
    try:
        if not builder.is_prepared():
            _quiet_download(builder)
    except Exception as error:  # no network: DNS, connection or SSL errors of many kinds
        if isinstance(error, OSError):  # requests' ConnectionError is an OSError
            reason = "no network"
        else:
            reason = (str(error).splitlines() or [type(error).__name__])[0][:120]
        raise ValueError(
            f"Cannot download TFDS dataset {name!r} ({reason}). Prepare it on a machine "
            "with network and pass its folder with --data-dir, or pass an .npz file or a "
            "folder of class subfolders."
        ) from None
    return _tfds_arrays(builder, name)


def _quiet_download(builder):
    """Downloads with few retries and without progress bars, so offline fails in a second.

    TFDS retries each URL 10 times with exponential backoff (about 200 s offline) and
    prints progress bars; `MAX_RETRIES` is read at call time, so lowering it for this
    call is enough (tensorflow-datasets 4.9.x; the getattr keeps later versions working).
    """
    import contextlib
    import io
    import logging

    import tensorflow_datasets as tfds
    from tensorflow_datasets.core.download import downloader

    saved = getattr(downloader, "MAX_RETRIES", None)
    urllib3_logger = logging.getLogger("urllib3")
    saved_level = urllib3_logger.level
    downloader.MAX_RETRIES = 2
    urllib3_logger.setLevel(logging.ERROR)  # one "Retrying ..." warning per retry otherwise
    tfds.disable_progress_bar()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            builder.download_and_prepare()
    finally:
        downloader.MAX_RETRIES = saved
        urllib3_logger.setLevel(saved_level)
        tfds.enable_progress_bar()


def _tfds_arrays(builder, name):
    """All of a prepared TFDS data set's splits, concatenated (we split it ourselves)."""
    import tensorflow as tf

    keys = builder.info.supervised_keys
    if not keys:
        raise ValueError(f"TFDS dataset {name!r} has no (image, label) supervised keys")
    dataset = builder.as_dataset(split="+".join(builder.info.splits), as_supervised=True)
    images, labels = [], []
    for image, label in dataset.as_numpy_iterator():
        images.append(image)
        labels.append(label)
    shapes = {image.shape for image in images}
    if len(shapes) > 1:  # e.g. tf_flowers: resize to the smallest common size
        height = min(s[0] for s in shapes)
        width = min(s[1] for s in shapes)
        images = [tf.image.resize(i, (height, width)).numpy() for i in images]
    label_feature = builder.info.features[keys[1]]
    classes = list(getattr(label_feature, "names", None) or [])
    y = check_labels(np.array(labels), num_classes=len(classes) or None, name=f"{name} labels")
    classes = classes or [str(c) for c in range(int(y.max()) + 1)]
    return Arrays(_to_float(np.stack(images), name), y, classes, name)


def _to_float(x, where):
    if x.dtype.kind not in "uif":
        raise ValueError(f"`x` in {where} must be numeric. Received: dtype {x.dtype}")
    if x.dtype == np.uint8:
        return (x / np.float32(255)).astype(np.float32)
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
    if len(pair) != 2 or not all(isinstance(v, int) and v > 0 for v in pair):
        raise ValueError(
            f"`image_size` must be a positive int or (height, width). "
            f"Received: image_size={image_size!r}"
        )
    return pair


def _is_image(filename):
    return filename.lower().endswith(IMAGE_EXTENSIONS)
