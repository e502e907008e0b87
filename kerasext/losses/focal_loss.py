"""Multi-class focal loss (Lin et al., 2017) for integer or one-hot labels."""

import keras
from keras import ops

from kerasext._validation import check_unit_interval
from kerasext.losses import _common


def focal_loss(
    y_true,
    y_pred,
    gamma=2.0,
    alpha=None,
    from_logits=False,
    label_smoothing=0.0,
):
    """Multi-class focal loss, per sample.

    `loss = -sum_c alpha_c * (1 - p_c) ** gamma * y_c * log(p_c)`, summed
    over the classes `c` of the last axis. With `gamma=0` and `alpha=None` it
    is the categorical cross-entropy.

    Keras' alternative is `keras.losses.categorical_focal_crossentropy`; the
    two agree where both apply (one-hot or soft labels, scalar `alpha`).
    Ours exists because Keras' needs one-hot labels (there is no sparse
    focal loss), has no per-class `alpha`, and from logits takes
    `softmax` and clips it to `[1e-7, 1 - 1e-7]` before the log: a
    confidently wrong prediction (logits +-1e4) costs at most
    `-log(1e-7)` = 16.1 and gets a zero gradient. Ours uses `log_softmax`,
    so that loss is 2e4 with gradient `softmax - y`, in float16 too.

    Args:
        y_true: Integer class indices `(batch,)` / `(batch, 1)`, or one-hot /
            soft labels `(batch, classes)` (any float dtype).
        y_pred: Probabilities or logits `(batch, classes)`.
        gamma: Focusing parameter, >= 0. Defaults to `2.0`.
        alpha: `None` (no weighting), a float > 0 multiplying every class
            (as Keras' `alpha`), or a list with one weight per class.
            Defaults to `None`.
        from_logits: Whether `y_pred` are logits. Defaults to `False`.
        label_smoothing: In [0, 1]; labels become
            `y * (1 - label_smoothing) + label_smoothing / classes`.
            Defaults to `0.0`.

    Returns:
        Per-sample losses `(batch,)`, float32 (float64 for float64 inputs);
        half-precision inputs are computed in float32.

    Raises:
        ValueError: If `gamma` < 0, `alpha` <= 0 or a list of the wrong
            length, or `label_smoothing` is outside [0, 1]; and, in eager
            mode, if an integer label is not a whole number in
            `[0, classes)` (negative, too large, fractional or NaN). In a
            graph (`model.fit`, `tf.function`, `jax.jit`) the values are
            unknown when it is built: such a label gives a NaN loss rather
            than a silently wrong finite one, so a NaN stop (e.g.
            `keras.callbacks.TerminateOnNaN`) catches it.

    References:
        - [Lin et al., 2017, Focal Loss for Dense Object Detection](
          https://arxiv.org/abs/1708.02002)

    Example:

    ```python
    y_true = np.array([0, 2])
    logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
    kerasext.losses.focal_loss(y_true, logits, gamma=2.0, from_logits=True)
    ```
    """
    gamma = _common.check_gamma(gamma)
    alpha = _common.check_alpha(alpha)
    label_smoothing = float(check_unit_interval("label_smoothing", label_smoothing))
    y_pred = ops.convert_to_tensor(y_pred)
    dtype = _common.compute_dtype(y_pred)
    y_pred = ops.cast(y_pred, dtype)
    y_true = _common.dense_labels(y_true, y_pred, dtype)
    if label_smoothing:
        classes = ops.cast(ops.shape(y_pred)[-1], dtype)
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / classes
    log_p, p = _common.log_probabilities(y_pred, from_logits)
    terms = -y_true * log_p * _common.focal_modulator(1.0 - p, gamma)
    if alpha is not None:
        terms = terms * _common.alpha_tensor(alpha, y_pred, dtype)
    return ops.sum(terms, axis=-1)


@keras.saving.register_keras_serializable(package="kerasext")
class FocalLoss(keras.losses.Loss):
    """Multi-class focal loss for integer or one-hot labels.

    A thin `keras.losses.Loss` around `focal_loss`; see it for the formula.
    Keras' alternative is `keras.losses.CategoricalFocalCrossentropy` (equal
    values where both apply); this one also takes integer labels, is
    computed from `log_softmax` (finite, unsaturated loss and gradients at
    logits of +-1e4 and under mixed precision, where Keras' clipped
    probabilities give a zero gradient) and accepts per-class `alpha`.

    Args:
        gamma: Focusing parameter, >= 0. Defaults to `2.0`.
        alpha: `None`, a float > 0, or a list of per-class weights. Defaults
            to `None`.
        from_logits: Whether predictions are logits. Defaults to `False`.
        label_smoothing: In [0, 1]. Defaults to `0.0`.
        reduction: Keras loss reduction. Defaults to
            `"sum_over_batch_size"`.
        name: Defaults to `"focal_loss"`.
        dtype: Dtype of the computation; defaults to `None`
            (`keras.config.floatx()`).

    Raises:
        ValueError: As `focal_loss`, at construction.

    References:
        - [Lin et al., 2017](https://arxiv.org/abs/1708.02002)

    Example:

    ```python
    model.compile(
        optimizer="adam",
        loss=kerasext.losses.FocalLoss(gamma=2.0, from_logits=True),
    )
    model.fit(images, integer_labels)  # or one-hot labels
    ```
    """

    # Read by the runner's label checker: integer and one-hot both accepted.
    label_format = "sparse_or_dense"

    def __init__(
        self,
        gamma=2.0,
        alpha=None,
        from_logits=False,
        label_smoothing=0.0,
        reduction="sum_over_batch_size",
        name="focal_loss",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.gamma = _common.check_gamma(gamma)
        self.alpha = _common.check_alpha(alpha)
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(check_unit_interval("label_smoothing", label_smoothing))

    def call(self, y_true, y_pred):
        return focal_loss(
            y_true,
            y_pred,
            gamma=self.gamma,
            alpha=self.alpha,
            from_logits=self.from_logits,
            label_smoothing=self.label_smoothing,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "gamma": self.gamma,
                "alpha": self.alpha,
                "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing,
            }
        )
        return config
