"""Where a shuffled pipeline starts: the epoch fixes the order, and whole batches are skipped by index."""

import tensorflow as tf


def position_of(dataset):
    """The `DataPosition` of a shuffled pipeline from `make_dataset` / `load`, else `None`."""
    return getattr(dataset, "_kerasext_position", None)


class DataPosition:
    """Where a shuffled pipeline starts: an epoch (which fixes the order) and batches to skip.

    The order of epoch `e` is a stateless shuffle seeded by `(seed, e)`, so it is the same
    in every process. The next iteration of the dataset reads `epoch` and `skip` (then
    advances `epoch` by one and resets `skip`); `set(epoch, skip)` before an epoch starts
    makes it replay epoch `epoch` from batch `skip`. Skipping happens on the example
    indices (or, for a TFDS stream, on encoded records), so nothing skipped is decoded.

    Args:
        seed: the shuffle seed.
        size: examples per epoch.
        batch_size: examples per batch.
    """

    def __init__(self, seed, size, batch_size):
        self.seed, self.size, self.batch_size = int(seed), int(size), int(batch_size)
        self.batches_per_epoch = -(-self.size // self.batch_size)
        with tf.init_scope():  # plain variables, outside any distribution strategy
            self._epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
            self._skip = tf.Variable(0, dtype=tf.int64, trainable=False)

    def set(self, epoch, skip=0):
        if not 0 <= skip < self.batches_per_epoch:
            raise ValueError(
                f"`skip` must be in [0, {self.batches_per_epoch}). Received: skip={skip}"
            )
        self._epoch.assign(int(epoch))
        self._skip.assign(int(skip))

    def each_epoch(self, make_epoch):
        """A dataset whose every iteration is one epoch: `make_epoch(epoch, skip)`'s dataset.

        `make_epoch` gets the epoch and the batches to skip as int64 scalar tensors and
        returns that epoch's dataset, already started at batch `skip`.
        """

        def one_epoch(_):
            epoch = self._epoch.assign_add(1) - 1
            skip = self._skip.read_value()
            with tf.control_dependencies([skip]):
                reset = self._skip.assign(0)
            with tf.control_dependencies([reset]):
                return make_epoch(tf.identity(epoch), tf.identity(skip))

        return tf.data.Dataset.from_tensors(0).flat_map(one_epoch)

    def order(self, epoch):
        """The example indices of epoch `epoch`, in training order (int64 `(size,)`)."""
        return tf.random.experimental.stateless_shuffle(
            tf.range(self.size, dtype=tf.int64),
            seed=tf.stack([tf.constant(self.seed, tf.int64), epoch]),
        )

    def numbered_batches(self):
        """`(epoch, batch, indices)` per batch, from the set position on (int64 tensors)."""

        def make_epoch(epoch, skip):
            batches = tf.data.Dataset.from_tensor_slices(self.order(epoch)).batch(self.batch_size)
            numbers = tf.data.Dataset.range(self.batches_per_epoch)
            return tf.data.Dataset.zip((numbers, batches)).skip(skip).map(
                lambda number, indices: (epoch, number, indices))

        return self.each_epoch(make_epoch)

    def index_batches(self):
        """The shuffled index batches alone (int64 `(batch,)`), from the set position on."""
        return self.numbered_batches().map(lambda epoch, number, indices: indices)
