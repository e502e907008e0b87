"""The examples of one split, and the `tf.data` pipeline that reads them.

A part is a subset of a source, by index: rows of in-memory arrays (`ArrayPart`), image
files (`FilePart`) or records of a TFDS split (`TfdsPart`). `pipeline` turns any part into
batches of float32 images in [0, 1] and int32 labels: in a fixed order for evaluation, or,
for training, shuffled by `(seed, epoch)` with a `DataPosition` that can start mid-epoch.
"""

import numpy as np
import tensorflow as tf

from kerasext.data.augment import apply_augmentation, augment_numbered, check_augment
from kerasext.data.images import decoded_batches, end_marker
from kerasext.data.position import DataPosition

TFDS_SHUFFLE_BUFFER = 10_000  # encoded records a streamed TFDS training split shuffles among
_AUTOTUNE = tf.data.AUTOTUNE


class ArrayStore:
    """Arrays in memory (or memory-mapped), shared by the parts that index them.

    `divisor` scales integer images to [0, 1] after `batch` (`None`: already float32).
    """

    def __init__(self, x, y, divisor=None):
        self.x, self.y, self.divisor = x, np.asarray(y, np.int64), divisor
        self._images = self._labels = None  # tensors, made on first use

    def gather(self, indices):
        """Rows `indices` (an int64 tensor) of x and y, inside a `tf.data` map."""
        with tf.init_scope():  # eager tensors, captured by the map (not constants in its graph)
            if self._labels is None:
                self._labels = tf.constant(self.y.astype(np.int32))
            if self._images is None and not isinstance(self.x, np.memmap):
                self._images = tf.constant(self.x)
        if isinstance(self.x, np.memmap):  # read from disk, only the rows asked for
            images = tf.numpy_function(lambda i: np.asarray(self.x[i]), [indices],
                                       tf.as_dtype(self.x.dtype), stateful=False)
            images.set_shape((None, *self.x.shape[1:]))
        else:
            images = tf.gather(self._images, indices)
        return images, tf.gather(self._labels, indices)


class ArrayPart:
    """Rows `index` of an `ArrayStore`, gathered per batch."""

    def __init__(self, store, index):
        self.store, self.index = store, np.asarray(index, np.int64)
        self.size, self.divisor = len(self.index), store.divisor
        self.labels = store.y[self.index]

    def ordered(self, batch_size):
        index = tf.constant(self.index)
        return tf.data.Dataset.from_tensor_slices(index).batch(batch_size).map(self.store.gather)

    def shuffled(self, position):
        index = tf.constant(self.index)
        return position.numbered_batches().map(
            lambda epoch, number, rows: (*self.store.gather(tf.gather(index, rows)), epoch, number),
            num_parallel_calls=_AUTOTUNE, deterministic=True)


class FilePart:
    """Image files, decoded (and resized) in a parallel, deterministic map (`decoded_batches`):
    float32 in [0, 1], or uint8 (`ordered_uint8`) to cache."""

    divisor = None  # scaled in the decoding map

    def __init__(self, paths, labels, image_format):
        self.paths, self.labels = np.asarray(paths, object), np.asarray(labels, np.int64)
        self.format, self.size = image_format, len(self.paths)

    def _tensors(self):
        """The paths and labels, the end marker's last (see `decoded_batches`)."""
        with tf.init_scope():
            return (tf.constant(np.append(self.paths, end_marker()).astype(str)),
                    tf.constant(np.append(self.labels, 0).astype(np.int32)))

    def ordered(self, batch_size, scaled=True):
        paths, labels = self._tensors()
        places = tf.range(self.size + 1, dtype=tf.int64)
        zeros = tf.zeros_like(places)
        previous = tf.concat([paths[:1], paths[:-1]], 0)
        examples = tf.data.Dataset.from_tensor_slices((paths, labels, zeros, places, zeros, previous))
        batches = decoded_batches(examples, self.format, batch_size, self.size, numbered=False,
                                  scaled=scaled)
        return batches.apply(tf.data.experimental.assert_cardinality(-(-self.size // batch_size)))

    def ordered_uint8(self, batch_size):
        return self.ordered(batch_size, scaled=False)

    def shuffled(self, position):
        paths, labels = self._tensors()

        def make_epoch(epoch, skip):
            order = tf.concat([position.order(epoch), [self.size]], 0)  # and the end marker
            previous = tf.concat([order[:1], order[:-1]], 0)
            first = skip * position.batch_size
            order, previous = order[first:], previous[first:]
            fill = tf.fill(tf.shape(order), epoch), tf.fill(tf.shape(order), first)
            places = tf.range(first, self.size + 1, dtype=tf.int64)
            return tf.data.Dataset.from_tensor_slices((
                tf.gather(paths, order), tf.gather(labels, order), fill[0], places, fill[1],
                tf.gather(paths, previous)))

        return decoded_batches(position.each_epoch(make_epoch), self.format,
                               position.batch_size, self.size)


class TfdsPart:
    """Records of a TFDS split (all, or those at `index`), decoded in a parallel map.

    `labels` are known where the split was made here (`index` given); a whole official
    split is not read to split it, so its `labels` are `None` and `size` is given.
    """

    divisor = 255

    def __init__(self, tfds_set, expression, image_format, index=None, labels=None, size=None):
        self.set, self.expression, self.format = tfds_set, expression, image_format
        self.index = None if index is None else np.asarray(index, np.int64)
        self.labels = labels
        self.size = len(self.index) if index is not None else size

    def _records(self):
        records = self.set.records(self.expression)
        if self.index is None:
            return records
        keep = np.zeros(int(self.index.max()) + 1, bool)
        keep[self.index] = True
        keep = tf.constant(keep)
        count = len(keep)
        numbered = records.take(count).enumerate()
        kept = numbered.filter(lambda number, _: keep[number])
        return kept.map(lambda _, record: record)

    def _decode(self, encoded, label):
        return self.format.finish(self.set.decode(encoded)), tf.cast(label, tf.int32)

    def ordered(self, batch_size):
        return self._records().map(self._decode, num_parallel_calls=_AUTOTUNE,
                                   deterministic=True).batch(batch_size)

    ordered_uint8 = ordered  # already uint8

    def shuffled(self, position):
        records, batch_size = self._records(), position.batch_size
        buffer = min(self.size, TFDS_SHUFFLE_BUFFER)

        def make_epoch(epoch, skip):
            seed = tf.random.stateless_uniform(  # one int64 drawn from (seed, epoch)
                [], seed=tf.stack([tf.constant(position.seed, tf.int64), epoch]),
                minval=None, maxval=None, dtype=tf.int64)
            start = skip * batch_size
            numbers = tf.data.Dataset.from_tensor_slices(
                tf.range(start, self.size, dtype=tf.int64) // batch_size)
            epochs = tf.data.Dataset.from_tensors(epoch).repeat()
            shuffled = records.shuffle(buffer, seed=seed).skip(start)
            return tf.data.Dataset.zip((epochs, numbers, shuffled))

        examples = position.each_epoch(make_epoch).map(
            lambda epoch, number, record: (*self._decode(*record), epoch, number),
            num_parallel_calls=_AUTOTUNE, deterministic=True,
        )
        return examples.batch(batch_size).map(_first_numbers)


def _first_numbers(images, labels, epochs, numbers):
    return images, labels, epochs[0], numbers[0]


def pipeline(part, batch_size, *, shuffle=False, seed=0, augment=None, one_hot=None):
    """Batches of `(float32 images in [0, 1], int32 labels)` from a part.

    With `shuffle`, each epoch's order is a function of `(seed, epoch)` and the dataset
    carries its `DataPosition` (`position_of`); `augment` is applied after `batch`, with
    draws keyed to `(seed, epoch, batch)`. `one_hot=C` turns integer labels into float32
    `(batch, C)` (labels a mixer already made soft are left as they are).
    """
    steps = check_augment(augment)
    to_float = _scaler(part.divisor)
    scaling = {"num_parallel_calls": _AUTOTUNE, "deterministic": True} if part.divisor else {}
    if not shuffle:
        dataset = part.ordered(batch_size)
        if part.divisor:
            dataset = dataset.map(lambda x, y: (to_float(x), y), **scaling)
        if steps:  # no epoch to key draws to: the layers' own generators
            dataset = apply_augmentation(dataset, steps)
        return _one_hot(dataset, one_hot).prefetch(_AUTOTUNE)
    position = DataPosition(seed, part.size, batch_size)
    if steps:
        dataset = augment_numbered(part.shuffled(position), steps, seed, prepare=to_float)
    else:
        dataset = part.shuffled(position).map(lambda x, y, epoch, number: (to_float(x), y),
                                              **scaling)
    # A known length lets Keras stop each epoch before asking for one batch too many
    # (with an unknown length, Keras 3.15 counts one optimizer step too many per epoch).
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(position.batches_per_epoch))
    dataset = _one_hot(dataset, one_hot).prefetch(_AUTOTUNE)
    dataset._kerasext_position = position
    return dataset


def _one_hot(dataset, num_classes):
    if num_classes is None or dataset.element_spec[1].shape.rank != 1:
        return dataset
    return dataset.map(lambda x, y: (x, tf.one_hot(y, num_classes, dtype=tf.float32)))


def _scaler(divisor):
    if divisor is None:
        return lambda x: x
    return lambda x: tf.cast(x, tf.float32) / tf.constant(divisor, tf.float32)
