"""Pairing each sample with a partner, and blending the two.

Every label-mixing layer pairs sample 2k with sample 2k + 1 (the partner of
`i` is `i xor 1`; the last sample of an odd-sized batch is its own
partner). Like timm's reversal (`i <-> batch - 1 - i`) this is a fixed
perfect matching, so in a shuffled pipeline partners are uniformly random.
Its advantage: with the batch viewed as `(batch / 2, 2, -1)`, blending every
sample with its partner is ONE batched 2x2 matmul, a single pass over the
images, where a reversal needs a reverse copy plus three elementwise passes
(TensorFlow does not fuse elementwise ops outside XLA).
"""

import numpy as np
from keras import ops

from kerasext.layers._inputs import batch_size


def partner_indices(n):
    """int32 `(n,)`: `i xor 1`, clipped so an odd batch's last is itself.

    A constant when `n` is a Python int (fewer ops per call), else computed.
    """
    if isinstance(n, int):
        return ops.convert_to_tensor(
            np.minimum(np.arange(n) ^ 1, n - 1).astype("int32")
        )
    index = ops.arange(n, dtype="int32")
    return ops.minimum(ops.bitwise_xor(index, 1), n - 1)


def partners(x):
    """`x[partner(i)]` along axis 0."""
    return ops.take(x, partner_indices(batch_size(x)), axis=0)


# Per-sample size (elements) from which the matmul form is used. Below it,
# 64 tiny batched matmuls cost more than the elementwise form's extra passes
# (on TF CPU the matmul is slower at 32x32x3 and faster from ~48x48x3 up;
# see `benchmarks/augment.py`).
MATMUL_MIN_ELEMENTS = 6144


def pair_blend(tensors, lam):
    """`lam[i] * x[i] + (1 - lam[i]) * x[partner(i)]` along axis 0, for each
    `x` in `tensors`.

    Args:
        tensors: List of float tensors `(batch, ...)`, same batch size.
        lam: Float tensor `(batch,)` (or `(1,)`, broadcast to the batch).

    Returns:
        List of blended tensors, shapes and dtypes as given.

    For an even batch of large samples each blend is one batched matmul of
    `(batch/2, 2, 2)` weights with the `(batch/2, 2, -1)` view of `x`; small
    samples (labels, tiny images) and odd batches (known only at run time
    inside `tf.data`) use two products and a `take`.
    Note: where float32 matmuls run at reduced precision (TF32 on recent
    NVIDIA GPUs, bf16 passes on TPU), the blend inherits it (~1e-3
    relative); on CPU it is exact float32 arithmetic.
    """
    n = batch_size(tensors[0])
    lam = ops.cast(lam, "float32")
    if lam.shape[0] == 1:
        lam = ops.broadcast_to(lam, (n,))
    return [_blend(x, lam, n) for x in tensors]


def _blend(x, lam, n):
    sample = x.shape[1:]
    if all(d is not None for d in sample) and (
        int(np.prod(sample)) < MATMUL_MIN_ELEMENTS
    ):
        return _pair_take(x, lam)
    if isinstance(n, int):
        return _pair_matmul(x, lam) if n % 2 == 0 else _pair_take(x, lam)
    return ops.cond(
        ops.equal(n % 2, 0),
        lambda: _pair_matmul(x, lam),
        lambda: _pair_take(x, lam),
    )


def _pair_matmul(x, lam):
    pairs = ops.reshape(ops.cast(lam, x.dtype), (-1, 2, 1))
    eye = ops.eye(2, dtype=x.dtype)[None]
    weights = pairs * eye + (1.0 - pairs) * (1.0 - eye)  # (n/2, 2, 2)
    rows = ops.reshape(x, (ops.shape(weights)[0], 2, -1))
    return ops.reshape(ops.matmul(weights, rows), ops.shape(x))


def _pair_take(x, lam):
    n = batch_size(x)
    index = partner_indices(n)
    if not isinstance(n, int) or n % 2:
        # The sample paired with itself keeps lam = 1: it comes back exactly.
        lam = ops.where(index == ops.arange(n, dtype="int32"), 1.0, lam)
    weight = ops.reshape(ops.cast(lam, x.dtype), (-1,) + (1,) * (len(x.shape) - 1))
    return weight * x + (1.0 - weight) * ops.take(x, index, axis=0)
