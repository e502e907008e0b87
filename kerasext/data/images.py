"""Image decoding in the pipeline, and the up-front check that finds unreadable image files.

A decoded image is resized and rounded to uint8 values: kept as uint8 where it is cached
(a quarter of float32's size), and streamed as float32 in [0, 1] straight from the decoding
map (the same values, one pass fewer over each batch than scaling after `batch`).
"""

import concurrent.futures
import os

import tensorflow as tf

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")  # what Keras' loader reads
_TAIL = 1024  # bytes read from a file's end to find its format's end marker
_GRAY = (0.299, 0.587, 0.114)
UNREADABLE = "Cannot read image"  # how the error naming an unreadable file begins
_END_MARKER = "ram://kerasext/end-marker.png"
_MID_DECODE = "it failed to decode (corrupt data, or the file is gone). Fix or remove it."


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

    def finish(self, image, scaled=False):
        """uint8 `(h, w, c)` of any size and 1 or 3 channels -> uint8 of this format.

        Resized (bilinear, as Keras' loader) and rounded; an image already at the size
        keeps its exact pixels. `scaled`: float32 in [0, 1] instead, bitwise the uint8
        values / 255.
        """
        if image.shape[-1] == 3 and self.channels == 1:
            image = tf.tensordot(tf.cast(image, tf.float32), tf.constant(_GRAY), axes=1)[..., None]
        elif image.shape[-1] == 1 and self.channels == 3:
            image = tf.tile(image, [1, 1, 3])
        pixels = tf.image.resize(image, self.size)  # uint8 in, float32 in [0, 255] out
        if scaled:  # floor(x + 0.5) is what the cast to uint8 makes of it
            image = tf.floor(pixels + 0.5) / tf.constant(255, tf.float32)
        else:
            image = tf.cast(pixels + 0.5, tf.uint8)  # rounded (half up)
        image.set_shape(self.shape)
        return image


def read_image(path, image_format, scaled=False):
    """Reads and decodes one image file (a string tensor) into `image_format`'s uint8
    (`scaled`: float32 in [0, 1]).

    No control flow here: a `tf.cond` in a `tf.data` map (to pick libjpeg's 1/2, 1/4,
    1/8 scaled decoding for large JPEGs, say) costs more than it saves at 160 px.
    """
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    return image_format.finish(image, scaled)


def decoded_batches(examples, image_format, batch_size, size, numbered=True, scaled=True):
    """Decodes image files in a parallel, deterministic map and batches them, naming any
    file that fails to decode.

    A file can pass the up-front check (`find_bad_images`) and still fail mid-decode (or
    vanish after it), and TensorFlow's error would not say which file. So the map's
    errors are dropped (`ignore_errors`), and after `batch` a cheap check of each
    example's place in the order finds the gap and raises naming the file before it
    (a `tf.errors.OpError` whose message holds the line `unreadable_image` returns). An
    end marker after the last example (`end_marker()`, decoded like a file) finds a gap
    at the very end. Nothing is decoded twice, no branch is taken.

    Args:
        examples: a dataset of `(path, label, epoch, place, first, previous path)`:
            `place` is the example's position in the epoch's order, `first` the place
            the dataset starts at; the last element is the end marker (`end_marker()`'s
            path, `place == size`).
        image_format: the `ImageFormat` to decode into.
        batch_size: examples per batch; `size`: examples per epoch.
        numbered: also return each batch's epoch and number (`place // batch_size`).
        scaled: float32 images in [0, 1], else uint8.

    Returns:
        A dataset of `(images, labels, epoch, batch number)`, or of `(images, labels)`
        without `numbered`.
    """

    @tf.autograph.experimental.do_not_convert
    def read(path, label, *numbers):
        return (read_image(path, image_format, scaled), label, *numbers)

    @tf.autograph.experimental.do_not_convert
    def check(ordinals, example):
        images, labels, epochs, places, firsts, previous = example
        gaps = tf.not_equal(places - ordinals, firsts)  # where an example was dropped before
        after = tf.gather(previous, tf.argmax(tf.cast(gaps, tf.int32)))
        message = tf.strings.join([f"{UNREADABLE} ", after, f": {_MID_DECODE}"])
        complete = tf.logical_not(tf.reduce_any(gaps))
        with tf.control_dependencies([tf.debugging.Assert(complete, [message])]):
            count = tf.reduce_sum(tf.cast(places < size, tf.int32))  # all but the end marker
        batch = images[:count], labels[:count]
        return (*batch, epochs[0], places[0] // batch_size) if numbered else batch

    decoded = examples.map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    batches = decoded.ignore_errors().enumerate().batch(batch_size).map(check)
    return batches.filter(tf.autograph.experimental.do_not_convert(
        lambda images, labels, *numbers: tf.size(labels) > 0))


def end_marker():
    """The path of the end marker: a 1x1 PNG in TensorFlow's in-memory file system."""
    if not tf.io.gfile.exists(_END_MARKER):
        tf.io.write_file(_END_MARKER, tf.io.encode_png(tf.zeros([1, 1, 3], tf.uint8)))
    return _END_MARKER


def unreadable_image(error):
    """The one line naming the file when `error` (raised while iterating a pipeline of
    `load`) is an image file that failed to decode, else `None`.

    For a command-line tool: print it and exit, as for a file the up-front check finds.
    """
    text = str(getattr(error, "message", error))
    start, end = text.find(UNREADABLE), text.find(_MID_DECODE)
    if start < 0 or end < start:
        return None
    return text[start:end + len(_MID_DECODE)]


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
