"""The test split's confusion matrix, counted batch by batch: the data may stream."""

import keras
import numpy as np
from keras import ops

# Words of a loss's name that make a model a regressor, and parts that make it a classifier.
REGRESSION_WORDS = {"squared", "absolute", "huber", "cosh", "poisson", "cosine", "mse", "mae", "mape", "msle"}
CLASSIFICATION_WORDS = ("crossentropy", "focal", "hinge")
ARRAY_BATCH = 256  # batch size for a test split given as `(x, y)` arrays


def confusion_matrix(model, dataset, num_classes=None):
    """Counts of (true class, predicted class) over a dataset, or `None` for a non-classifier.

    One prediction pass, one batch at a time; only the counts are kept. A classifier is a
    model with one output of shape `(batch, classes)`: `num_classes` units (more than one,
    any loss but a regression one), or one sigmoid unit for two classes; without
    `num_classes`, its loss must be a cross-entropy, focal or hinge loss. Labels may be
    class indices or one-hot (or soft: the largest wins); a single unit predicts class 1
    above 0.5 (above 0 if the loss takes logits).

    Args:
        model: the trained model.
        dataset: batches of `(x, y)` or `(x, y, sample_weight)` (a `tf.data.Dataset`, any
            iterable of batches, or one `(x, y)` tuple of arrays). Sample weights are ignored.
        num_classes: the data set's number of classes. Defaults to `None` (from the output).

    Returns:
        An `int64` array `[true, predicted]` of shape `(classes, classes)`, or `None`.
    """
    loss = getattr(model, "loss", None)
    name = str(getattr(loss, "name", None) or getattr(loss, "__name__", None) or loss).lower()
    if REGRESSION_WORDS.intersection(name.split("_")):
        return None
    name = name.replace("_", "")
    threshold = 0.0 if getattr(loss, "from_logits", False) else 0.5
    predict = _predictor(model)
    if isinstance(dataset, tuple):
        x, y = dataset[:2]
        dataset = ((x[i:i + ARRAY_BATCH], y[i:i + ARRAY_BATCH]) for i in range(0, len(y), ARRAY_BATCH))
    counts = None
    for batch in dataset:
        x, y, _ = keras.utils.unpack_x_y_sample_weight(batch)
        scores = predict(x)
        if y is None or isinstance(scores, (list, tuple, dict)):
            return None
        scores = np.asarray(scores)
        if counts is None:
            classes = _classes(scores, num_classes, name)
            if classes is None:
                return None
            counts = np.zeros((classes, classes), np.int64)
        true, predicted = _labels(np.asarray(ops.convert_to_numpy(y)), scores, classes, threshold)
        valid = (true >= 0) & (true < classes)
        pairs = true[valid] * classes + predicted[valid]
        counts += np.bincount(pairs, minlength=classes * classes).reshape(classes, classes)
    return counts


def _predictor(model):
    """`predict_on_batch` (compiled), or the eager call when a strategy has several replicas
    (its `predict_on_batch` would give each replica the whole batch and concatenate them)."""
    strategy = getattr(model, "distribute_strategy", None)
    if strategy is None or strategy.num_replicas_in_sync == 1:
        return model.predict_on_batch
    return lambda x: ops.convert_to_numpy(model(x, training=False))


def _classes(scores, num_classes, loss_name):
    if scores.ndim != 2:
        return None
    units = scores.shape[-1]
    if num_classes:
        return num_classes if (units == num_classes > 1) or (units == 1 and num_classes == 2) else None
    if any(word in loss_name for word in CLASSIFICATION_WORDS):
        return max(units, 2)
    return None


def _labels(y, scores, classes, threshold):
    if scores.shape[-1] == 1:  # one sigmoid unit (or logit): class 1 above the threshold
        return (y.reshape(-1) > 0.5).astype(np.int64), (scores[:, 0] > threshold).astype(np.int64)
    predicted = scores.argmax(axis=-1)
    true = y.argmax(axis=-1) if y.ndim == 2 and y.shape[-1] == classes else y.reshape(-1)
    if true.shape != predicted.shape:
        raise ValueError(
            f"The test labels do not match the predictions: {true.shape[0]} labels for "
            f"{predicted.shape[0]} predictions (labels of shape {y.shape})."
        )
    return np.rint(true).astype(np.int64), predicted.astype(np.int64)
