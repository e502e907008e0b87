"""Binary / multi-label focal loss (Lin et al., 2017)."""

import keras
from keras import ops

from kerasext._validation import check_unit_interval
from kerasext.losses import _common


def binary_focal_loss(
    y_true,
    y_pred,
    gamma=2.0,
    alpha=None,
    from_logits=False,
    label_smoothing=0.0,
):
    """Binary (or multi-label) focal loss, averaged over the last axis.

    Per entry, with `p` the predicted probability of 1 and
    `p_t = y * p + (1 - y) * (1 - p)`:
    `-w * (1 - p_t) ** gamma * (y * log(p) + (1 - y) * log(1 - p))`, where
    `w = y * alpha + (1 - y) * (1 - alpha)` when `alpha` is given and 1
    otherwise. The mean is taken over the last axis, as Keras does.

    Keras' alternative is `keras.losses.binary_focal_crossentropy`; ours
    equals it (`alpha=None` <-> `apply_class_balancing=False`, `alpha=a`
    <-> `apply_class_balancing=True, alpha=a`) but from logits always uses
    `log(p) = -softplus(-z)` and `log(1 - p) = -softplus(z)`. Keras' takes
    `sigmoid(z)` and clips it; on TensorFlow it recovers the logits from the
    `Sigmoid` op, but under JAX a confident mistake (logit +-1e4) saturates
    at `-log(1e-7)` with a zero gradient. Ours also accepts per-label
    `alpha`.

    Args:
        y_true: Labels in [0, 1] shaped like `y_pred` (`(batch,)` is
            accepted for `y_pred` of shape `(batch, 1)`).
        y_pred: Probabilities or logits `(batch, labels)`.
        gamma: Focusing parameter, >= 0. Defaults to `2.0`.
        alpha: `None`, a float in [0, 1] (weight of positives), or a list
            with one such weight per label. Defaults to `None`.
        from_logits: Whether `y_pred` are logits. Defaults to `False`.
        label_smoothing: In [0, 1]; labels become
            `y * (1 - label_smoothing) + 0.5 * label_smoothing`. Defaults to
            `0.0`.

    Returns:
        Per-sample losses (the input shape without its last axis), float32
        for half-precision inputs.

    Raises:
        ValueError: If `gamma` < 0, `alpha` is outside [0, 1] or a list of
            the wrong length, `label_smoothing` is outside [0, 1], or the
            shapes of `y_true` and `y_pred` differ (no broadcasting; checked
            on static shapes).

    References:
        - [Lin et al., 2017, Focal Loss for Dense Object Detection](
          https://arxiv.org/abs/1708.02002)

    Example:

    ```python
    y_true = np.array([[0.0, 1.0], [1.0, 0.0]])
    logits = np.array([[-3.0, 2.0], [0.5, 1.0]])
    kerasext.losses.binary_focal_loss(y_true, logits, from_logits=True)
    ```
    """
    gamma = _common.check_gamma(gamma)
    alpha = _common.check_alpha(alpha, upper=1.0)
    label_smoothing = float(check_unit_interval("label_smoothing", label_smoothing))
    y_pred = ops.convert_to_tensor(y_pred)
    dtype = _common.compute_dtype(y_pred)
    y_pred = ops.cast(y_pred, dtype)
    y_true = ops.cast(ops.convert_to_tensor(y_true), dtype)
    if len(y_true.shape) == len(y_pred.shape) - 1 and y_pred.shape[-1] == 1:
        y_true = ops.expand_dims(y_true, -1)
    _check_same_shape(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        log_p = -ops.softplus(-y_pred)
        log_not_p = -ops.softplus(y_pred)
        p = ops.sigmoid(y_pred)
    else:
        p = ops.clip(y_pred, _common.EPSILON, 1.0 - _common.EPSILON)
        log_p, log_not_p = ops.log(p), ops.log(1.0 - p)
    bce = -(y_true * log_p + (1.0 - y_true) * log_not_p)
    p_t = y_true * p + (1.0 - y_true) * (1.0 - p)
    terms = _common.focal_modulator(1.0 - p_t, gamma) * bce
    if alpha is not None:
        a = _common.alpha_tensor(alpha, y_pred, dtype)
        terms = (y_true * a + (1.0 - y_true) * (1.0 - a)) * terms
    return ops.mean(terms, axis=-1)


def _check_same_shape(y_true, y_pred):
    """Raise unless the shapes match (unknown dimensions match anything).

    Broadcasting `(batch, 3)` labels against `(batch, 1)` predictions would
    silently compare every label with one prediction.
    """
    true_shape, pred_shape = tuple(y_true.shape), tuple(y_pred.shape)
    same = len(true_shape) == len(pred_shape) and all(
        a is None or b is None or a == b for a, b in zip(true_shape, pred_shape)
    )
    if not same:
        raise ValueError(
            "`y_true` must have the shape of `y_pred` (or `(batch,)` for "
            f"`y_pred` of shape `(batch, 1)`). Received: y_true.shape="
            f"{true_shape} with y_pred.shape={pred_shape}"
        )


@keras.saving.register_keras_serializable(package="kerasext")
class BinaryFocalLoss(keras.losses.Loss):
    """Binary / multi-label focal loss.

    A thin `keras.losses.Loss` around `binary_focal_loss`; see it for the
    formula. Keras' alternative is `keras.losses.BinaryFocalCrossentropy`
    (equal values where both apply); this one is computed with `softplus`
    from logits on every backend (finite and unsaturated at +-1e4 and in
    float16) and takes per-label `alpha`.

    Args:
        gamma: Focusing parameter, >= 0. Defaults to `2.0`.
        alpha: `None`, a float in [0, 1], or a list of per-label floats.
            Defaults to `None`.
        from_logits: Whether predictions are logits. Defaults to `False`.
        label_smoothing: In [0, 1]. Defaults to `0.0`.
        reduction: Keras loss reduction. Defaults to
            `"sum_over_batch_size"`.
        name: Defaults to `"binary_focal_loss"`.
        dtype: Dtype of the computation; defaults to `None`
            (`keras.config.floatx()`).

    Raises:
        ValueError: As `binary_focal_loss`, at construction.

    References:
        - [Lin et al., 2017](https://arxiv.org/abs/1708.02002)

    Example:

    ```python
    model.compile(
        optimizer="adam",
        loss=kerasext.losses.BinaryFocalLoss(alpha=0.25, from_logits=True),
    )
    ```
    """

    label_format = "sparse_or_dense"

    def __init__(
        self,
        gamma=2.0,
        alpha=None,
        from_logits=False,
        label_smoothing=0.0,
        reduction="sum_over_batch_size",
        name="binary_focal_loss",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.gamma = _common.check_gamma(gamma)
        self.alpha = _common.check_alpha(alpha, upper=1.0)
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(check_unit_interval("label_smoothing", label_smoothing))

    def call(self, y_true, y_pred):
        return binary_focal_loss(
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
