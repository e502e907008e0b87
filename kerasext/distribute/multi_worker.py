"""`MultiWorkerMirroredStrategy` that Keras 3's `model.fit` can use.

Keras 3.15's TensorFlow trainer fails twice under `MultiWorkerMirroredStrategy`
(keras-team/keras#20585, tensorflow/tensorflow#72388, open):

1. its symbolic build calls `strategy.reduce("MEAN", batch, axis=None)` on the whole
   `(x, y)` tuple of `PerReplica` values, which the multi-worker strategy tries to turn
   into one tensor ("Attempt to convert a value (PerReplica...) ... to a Tensor");
2. `reduce_per_replica` reduces every log with `strategy.reduce("MEAN", v, axis=0)`,
   and scalar logs (loss, accuracy) have no axis 0.

Both go through `strategy.reduce`, so the fix is a strategy whose `reduce` takes nested
structures leaf by leaf and reduces rank-0 values with `axis=None`. Everything else is
TensorFlow's own `MultiWorkerMirroredStrategy`: `isinstance` checks in Keras and
TensorFlow still hold. Remove it when the upstream issues are closed.
"""

import tensorflow as tf


class MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """`tf.distribute.MultiWorkerMirroredStrategy` whose `reduce` works with `model.fit`."""

    def reduce(self, reduce_op, value, axis):
        leaves = tf.nest.flatten(value, expand_composites=False)
        if len(leaves) != 1 or leaves[0] is not value:
            return tf.nest.map_structure(lambda leaf: self.reduce(reduce_op, leaf, axis), value)
        if axis is not None and _rank(value) == 0:
            axis = None
        if axis is None and reduce_op in ("MEAN", tf.distribute.ReduceOp.MEAN) and not _is_float(value):
            # The symbolic build only needs the batch's structure and shapes: take this
            # worker's first replica for integer inputs instead of a mean that cannot be one.
            return self.experimental_local_results(value)[0]
        return super().reduce(reduce_op, value, axis)


def _first(value):
    results = getattr(value, "values", None)
    return results[0] if results else value


def _rank(value):
    shape = getattr(_first(value), "shape", None)
    return None if shape is None else shape.rank


def _is_float(value):
    dtype = getattr(_first(value), "dtype", None)
    return dtype is None or tf.as_dtype(dtype).is_floating
