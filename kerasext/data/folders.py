"""A folder of class subfolders (local or `gs://`) as a file list: paths and labels, nothing decoded."""

import logging
import os

import numpy as np
import tensorflow as tf

from kerasext.data.images import IMAGE_EXTENSIONS, find_bad_images, first_image_size, is_image_name

logger = logging.getLogger("kerasext.data")


class FileList:
    """The images of a folder of class subfolders: sorted paths, labels from the folder names."""

    def __init__(self, paths, labels, class_names, name):
        self.paths = np.asarray(paths, dtype=object)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.class_names = list(class_names)
        self.name = name


def list_folder(path, arg, skip_bad_images=False):
    """Lists `path`'s class subfolders (recursively, like Keras) and checks every image.

    Raises:
        ValueError: for a missing folder, no class subfolders, a class without images,
            or (unless `skip_bad_images`) an image file that cannot be decoded.
    """
    path = os.fspath(path)
    if not tf.io.gfile.isdir(path):
        raise ValueError(f"`{arg}` does not exist or is not a folder. Received: {path}")
    classes = sorted(
        d.rstrip("/") for d in tf.io.gfile.listdir(path)
        if not d.startswith(".") and tf.io.gfile.isdir(os.path.join(path, d))
    )
    if not classes:
        raise ValueError(f"`{arg}` has no class subfolders. Received: {path}")
    paths, labels = [], []
    for label, name in enumerate(classes):
        folder = os.path.join(path, name)
        images = sorted(
            os.path.join(root, f) for root, _, files in tf.io.gfile.walk(folder)
            for f in files if is_image_name(f)
        )
        if not images:
            raise ValueError(
                f"Class folder {folder} has no images ({', '.join(IMAGE_EXTENSIONS)})"
            )
        paths += images
        labels += [label] * len(images)
    paths, labels = _drop_bad(paths, np.array(labels), path, skip_bad_images)
    for label, name in enumerate(classes):
        if not np.any(labels == label):
            raise ValueError(f"Class folder {os.path.join(path, name)} has no readable images")
    return FileList(paths, labels, classes, os.path.basename(os.path.normpath(path)))


def _drop_bad(paths, labels, folder, skip_bad_images):
    bad = find_bad_images(paths)
    if not bad:
        return paths, labels
    first, reason = bad[0]
    if not skip_bad_images:
        more = f" ({len(bad) - 1} more unreadable images)" if len(bad) > 1 else ""
        raise ValueError(
            f"Cannot read image {first}: {reason}{more}. Fix or remove it, or pass "
            "skip_bad_images=True (--skip-bad-images) to leave unreadable images out."
        )
    logger.warning("Left out %d unreadable image(s) of %d in %s (first: %s, %s)",
                   len(bad), len(paths), folder, first, reason)
    unreadable = {p for p, _ in bad}
    keep = np.array([p not in unreadable for p in paths])
    return [p for p, k in zip(paths, keep) if k], labels[keep]


def default_size(files):
    """The first image's `(height, width)`: the size every image is resized to by default."""
    return first_image_size(files.paths[0])
