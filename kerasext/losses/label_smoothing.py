"""Cross-entropy with label smoothing for integer or soft labels."""

import keras
from keras import ops

from kerasext._validation import check_unit_interval
from kerasext.losses import _common


def label_smoothing_cross_entropy(y_true, y_pred, smoothing=0.1, from_logits=False):
    """Categorical cross-entropy against smoothed labels, per sample.

    Labels become `y * (1 - smoothing) + smoothing / classes`, then
    `loss = -sum_c y_c * log(p_c)`. For one-hot labels this is timm's
    `LabelSmoothingCrossEntropy`: `(1 - smoothing) * nll + smoothing *
    mean_c(-log p_c)`.

    Keras' alternative is `keras.losses.categorical_crossentropy(...,
    label_smoothing=...)`, which needs one-hot labels; Keras 3.15's sparse
    cross-entropy has no smoothing. This one takes integer labels too and is
    computed in float32 from `log_softmax`.

    Args:
        y_true: Integer class indices `(batch,)` / `(batch, 1)`, or one-hot /
            soft labels `(batch, classes)`.
        y_pred: Probabilities or logits `(batch, classes)`.
        smoothing: In [0, 1]. Defaults to `0.1`.
        from_logits: Whether `y_pred` are logits. Defaults to `False`.

    Returns:
        Per-sample losses `(batch,)`, float32 for half-precision inputs.

    Raises:
        ValueError: If `smoothing` is outside [0, 1]; and, in eager mode, if
            an integer label is not a whole number in `[0, classes)`
            (negative, too large, fractional or NaN). In a graph such a
            label gives a NaN loss (not a finite wrong one), which a NaN
            stop catches.

    References:
        - [Szegedy et al., 2016, Rethinking the Inception Architecture](
          https://arxiv.org/abs/1512.00567)

    Example:

    ```python
    kerasext.losses.label_smoothing_cross_entropy(
        np.array([1, 0]), np.array([[0.2, 0.8], [0.6, 0.4]]), smoothing=0.1
    )
    ```
    """
    smoothing = float(check_unit_interval("smoothing", smoothing))
    y_pred = ops.convert_to_tensor(y_pred)
    dtype = _common.compute_dtype(y_pred)
    y_pred = ops.cast(y_pred, dtype)
    y_true = _common.dense_labels(y_true, y_pred, dtype)
    if smoothing:
        classes = ops.cast(ops.shape(y_pred)[-1], dtype)
        y_true = y_true * (1.0 - smoothing) + smoothing / classes
    log_p, _ = _common.log_probabilities(y_pred, from_logits)
    return -ops.sum(y_true * log_p, axis=-1)


@keras.saving.register_keras_serializable(package="kerasext")
class LabelSmoothingCrossEntropy(keras.losses.Loss):
    """Cross-entropy with label smoothing, for integer or soft labels.

    A thin `keras.losses.Loss` around `label_smoothing_cross_entropy`.
    Keras' alternative is `keras.losses.CategoricalCrossentropy(
    label_smoothing=...)` (equal values for one-hot labels), which rejects
    integer labels; `SparseCategoricalCrossentropy` has no smoothing.

    Args:
        smoothing: In [0, 1]. Defaults to `0.1`.
        from_logits: Whether predictions are logits. Defaults to `False`.
        reduction: Keras loss reduction. Defaults to
            `"sum_over_batch_size"`.
        name: Defaults to `"label_smoothing_cross_entropy"`.
        dtype: Dtype of the computation; defaults to `None`
            (`keras.config.floatx()`).

    Raises:
        ValueError: If `smoothing` is outside [0, 1].

    References:
        - [Szegedy et al., 2016](https://arxiv.org/abs/1512.00567)

    Example:

    ```python
    model.compile(
        optimizer="adam",
        loss=kerasext.losses.LabelSmoothingCrossEntropy(0.1, from_logits=True),
    )
    model.fit(images, integer_labels)
    ```
    """

    label_format = "sparse_or_dense"

    def __init__(
        self,
        smoothing=0.1,
        from_logits=False,
        reduction="sum_over_batch_size",
        name="label_smoothing_cross_entropy",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.smoothing = float(check_unit_interval("smoothing", smoothing))
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        return label_smoothing_cross_entropy(
            y_true, y_pred, smoothing=self.smoothing, from_logits=self.from_logits
        )

    def get_config(self):
        config = super().get_config()
        config.update({"smoothing": self.smoothing, "from_logits": self.from_logits})
        return config
