"""Image decoding in the pipeline, and the up-front check that finds unreadable image files.

Decoded images travel through the pipeline as uint8 (`(height, width, channels)`, resized
and rounded), a quarter of float32's size; they become float32 in [0, 1] after `batch`.
"""

import concurrent.futures
import os

import tensorflow as tf

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")  # what Keras' loader reads
_TAIL = 1024  # bytes read from a file's end to find its format's end marker
_GRAY = (0.299, 0.587, 0.114)


class ImageFormat:
    """How images come out of the decoder: `(height, width)` and channels (1 or 3)."""

    def __init__(self, size, channels):
        self.size = tuple(int(v) for v in size)
        self.channels = int(channels)

    @property
    def shape(self):
        return (*self.size, self.channels)

    def nbytes(self, count):
        """Bytes of `count` decoded uint8 images."""
        return count * self.size[0] * self.size[1] * self.channels

    def finish(self, image):
        """uint8 `(h, w, c)` of any size and 1 or 3 channels -> uint8 of this format.

        Resized (bilinear, as Keras' loader) and rounded; an image already at the size
        keeps its exact pixels.
        """
        if image.shape[-1] == 3 and self.channels == 1:
            image = tf.tensordot(tf.cast(image, tf.float32), tf.constant(_GRAY), axes=1)[..., None]
        elif image.shape[-1] == 1 and self.channels == 3:
            image = tf.tile(image, [1, 1, 3])
        pixels = tf.image.resize(image, self.size)  # uint8 in, float32 in [0, 255] out
        image = tf.cast(pixels + 0.5, tf.uint8)  # rounded (half up)
        image.set_shape(self.shape)
        return image


def read_image(path, image_format):
    """Reads and decodes one image file (a string tensor) into `image_format`'s uint8.

    No control flow here: a `tf.cond` in a `tf.data` map (to pick libjpeg's 1/2, 1/4,
    1/8 scaled decoding for large JPEGs, say) costs more than it saves at 160 px.
    """
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    return image_format.finish(image)


def first_image_size(path):
    """`(height, width)` of the image at `path` (decodes that one image)."""
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    return tuple(int(v) for v in image.shape[:2])


def is_image_name(filename):
    return filename.lower().endswith(IMAGE_EXTENSIONS)


def find_bad_images(paths, workers=16):
    """`[(path, reason)]` for the files that cannot be decoded, in `paths` order.

    A cheap check reads each file's first bytes (the format's signature) and its last
    kilobyte (the format's end marker: a truncated file has none); only a file that fails
    it is decoded, to confirm, so a valid file with trailing data is not refused.
    """
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        reasons = list(pool.map(_check_one, paths, chunksize=64))
    return [(path, reason) for path, reason in zip(paths, reasons) if reason]


def _check_one(path):
    try:
        size, head, tail = _ends(path)
    except (OSError, tf.errors.OpError) as error:
        return f"cannot be opened ({type(error).__name__})"
    if size == 0:
        return "empty file"
    kind = _signature(head)
    if kind is None:
        return f"not a JPEG, PNG, GIF, BMP or WebP file (starts with {head[:8]!r})"
    if _complete(kind, size, head, tail):
        return None
    try:  # no end marker: decode it to be sure
        tf.io.decode_image(_read(path), channels=3, expand_animations=False)
    except (tf.errors.OpError, ValueError):
        return f"truncated or corrupt {kind}"
    return None


def _signature(head):
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head.startswith(b"BM"):
        return "BMP"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return None


def _complete(kind, size, head, tail):
    """Whether the file visibly ends where its format says (False: decode to be sure)."""
    if kind == "JPEG":
        return b"\xff\xd9" in tail
    if kind == "PNG":
        return b"IEND" in tail
    if kind == "GIF":
        return tail.rstrip(b"\x00").endswith(b"\x3b")
    if kind == "BMP":
        return int.from_bytes(head[2:6], "little") == size
    return int.from_bytes(head[4:8], "little") + 8 <= size  # WebP's RIFF size


def _ends(path):
    """`(size, first 16 bytes, last _TAIL bytes)` of a local or `gs://` file."""
    opener = open if "://" not in path else (lambda p, mode: tf.io.gfile.GFile(p, mode))
    with opener(path, "rb") as file:
        head = file.read(16)
        file.seek(0, os.SEEK_END)
        size = file.tell()
        file.seek(max(0, size - _TAIL))
        tail = file.read(_TAIL)
    return size, head, tail


def _read(path):
    if "://" not in path:
        with open(path, "rb") as file:
            return file.read()
    with tf.io.gfile.GFile(path, "rb") as file:
        return file.read()
