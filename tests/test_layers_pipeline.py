"""The augmentation layers inside `tf.data` and `tf.function`, and a short
`model.fit` on an augmented pipeline. TensorFlow backend only: under other
backends `keras.ops` cannot run on the TF graph tensors of a `tf.data` map
(see the comment at the top of `kerasext/layers/cutout.py`)."""

import keras
import numpy as np
import pytest

from kerasext.layers import CutMix, Cutout, Mixup, MixupCutMix
from kerasext.losses import FocalLoss

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="tf.data pipelines need the TensorFlow backend "
    f"(running {keras.backend.backend()})",
)


def dataset(n=37, batch=8, dtype="uint8", side=8):
    import tensorflow as tf

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, side, side, 3)).astype(dtype)
    labels = rng.integers(0, 4, n)
    # No drop_remainder: the batch dimension is unknown inside the map and
    # the last batch (37 = 4 * 8 + 5) is odd.
    return tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch)


@pytest.mark.parametrize(
    "layer",
    [
        Mixup(num_classes=4, seed=1),
        CutMix(num_classes=4, seed=1),
        MixupCutMix(num_classes=4, seed=1),
        MixupCutMix(num_classes=4, mode="batch", label_smoothing=0.1, seed=1),
    ],
    ids=["Mixup", "CutMix", "MixupCutMix", "MixupCutMix-batch"],
)
@pytest.mark.parametrize("side", [8, 48])  # elementwise / matmul blends
def test_ds_map_mixing_layers(layer, side):
    sizes = []
    for images, labels in dataset(side=side).map(layer):
        sizes.append(images.shape[0])
        assert images.shape[1:] == (side, side, 3)
        labels = labels.numpy()
        assert labels.shape == (images.shape[0], 4)
        np.testing.assert_allclose(labels.sum(axis=1), 1.0, atol=1e-6)
    assert sizes == [8, 8, 8, 8, 5]


def test_ds_map_cutout_keeps_dtype_and_labels():
    for images, labels in dataset().map(Cutout(4, seed=0)):
        assert images.dtype.name == "uint8"
        assert labels.dtype.name == "int64"


def test_tf_function():
    import tensorflow as tf

    layer = CutMix(num_classes=4, seed=3)
    images = np.random.default_rng(0).random((6, 8, 8, 3)).astype("float32")
    labels = np.arange(6) % 4

    @tf.function
    def step(x, y):
        return layer(x, y)

    out, mixed = step(images, labels)
    assert out.shape == images.shape and mixed.shape == (6, 4)
    cut = tf.function(Cutout(3, seed=0))
    assert cut(images).shape == images.shape


def test_fit_on_augmented_pipeline():
    ds = (
        dataset(n=64, batch=16, dtype="float32")
        .map(lambda x, y: (x / 255.0, y))
        .map(Cutout(0.25, seed=1))
        .map(MixupCutMix(num_classes=4, seed=2))
    )
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Flatten(),
            keras.layers.Dense(4),
        ]
    )
    model.compile(keras.optimizers.SGD(0.1), FocalLoss(gamma=1.0, from_logits=True))
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(ds, epochs=2, verbose=0)
    losses = history.history["loss"]
    assert len(losses) == 2 and np.all(np.isfinite(losses))
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))
