"""check_targets: the label/loss mismatches Keras is silent or cryptic about, caught before fit."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasext import data


def model_for(loss, outputs=10):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(outputs)(inputs))
    model.compile(loss=loss)
    return model


ints = np.array([0, 3, 9, 1])
onehot = np.eye(10)[ints]


@pytest.mark.parametrize(
    "loss", ["sparse_categorical_crossentropy", keras.losses.SparseCategoricalCrossentropy()]
)
def test_sparse_loss(loss):
    model = model_for(loss)
    data.check_targets(model, ints)
    data.check_targets(model, ints[:, None])
    with pytest.raises(ValueError, match=r"Targets look one-hot \(shape \(4, 10\)\) but the loss "
                       "sparse_categorical_crossentropy expects integer class ids"):
        data.check_targets(model, onehot)
    with pytest.raises(ValueError, match=r"must lie in \[0, 10\). Received: 10 at index 1"):
        data.check_targets(model, np.array([0, 10]))


@pytest.mark.parametrize(
    "loss", ["categorical_crossentropy", keras.losses.CategoricalCrossentropy(),
             keras.losses.CategoricalFocalCrossentropy()]
)
def test_categorical_loss(loss):
    model = model_for(loss)
    data.check_targets(model, onehot)
    with pytest.raises(ValueError, match=r"integer class ids \(shape \(4,\)\) but the loss "
                       r"categorical_\w+ expects one-hot labels of shape \(batch, 10\)"):
        data.check_targets(model, ints)
    with pytest.raises(ValueError, match=r"shape \(4, 5\) do not match the model's output \(batch, 10\)"):
        data.check_targets(model, np.eye(5)[[0, 1, 2, 3]])


@pytest.mark.parametrize("loss", ["mse", "mean_absolute_error", keras.losses.Huber(), keras.losses.MeanSquaredError()])
def test_regression_shapes_that_would_broadcast(loss):
    model = model_for(loss, outputs=3)
    data.check_targets(model, np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"shape \(4, 1\) do not match the model's output "
                       r"\(batch, 3\): the loss \w+ would broadcast them silently"):
        data.check_targets(model, np.zeros((4, 1)))
    single = model_for(loss, outputs=1)
    data.check_targets(single, np.zeros(4))  # Keras squeezes (B,) vs (B, 1): fine
    data.check_targets(single, np.zeros((4, 1)))
    with pytest.raises(ValueError, match="broadcast"):
        data.check_targets(single, np.zeros((4, 2)))


def test_the_broadcast_is_real():
    """What the check prevents: Keras trains on (B, 1) targets against (B, 3) outputs without a word."""
    model = model_for("mse", outputs=3)
    model.fit(np.zeros((8, 4)), np.ones((8, 1)), epochs=1, verbose=0)  # no error from Keras


def test_binary_loss():
    model = model_for("binary_crossentropy", outputs=1)
    data.check_targets(model, np.array([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"targets in \[0, 1\]. Received: values from 0.0 to 2.0"):
        data.check_targets(model, np.array([0.0, 2.0]))


def test_nan_and_string_targets_for_any_loss():
    for loss in ("mse", "sparse_categorical_crossentropy", lambda y, p: keras.ops.mean(p)):
        model = model_for(loss)
        with pytest.raises(ValueError, match="must be finite"):
            data.check_targets(model, np.array([0.0, np.nan]))
        with pytest.raises(ValueError, match="must be numeric"):
            data.check_targets(model, np.array(["a", "b"]))


def test_sparse_or_dense_losses_accept_both():
    class Flexible(keras.losses.Loss):
        label_format = "sparse_or_dense"

        def call(self, y_true, y_pred):
            return keras.ops.mean(y_pred)

    model = model_for(Flexible())
    data.check_targets(model, ints)
    data.check_targets(model, onehot)
    with pytest.raises(ValueError, match=r"\[0, 10\). Received: 12"):
        data.check_targets(model, np.array([12, 0]))


def test_dataset_first_batch_is_checked():
    model = model_for("sparse_categorical_crossentropy")
    good = tf.data.Dataset.from_tensor_slices((np.zeros((6, 4)), ints.tolist() + [2, 2])).batch(3)
    data.check_targets(model, good)
    bad = tf.data.Dataset.from_tensor_slices((np.zeros((4, 4)), onehot)).batch(2)
    with pytest.raises(ValueError, match="look one-hot"):
        data.check_targets(model, bad)
