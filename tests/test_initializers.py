"""kerasext.initializers.for_activation: He for ReLU, Glorot for tanh/sigmoid, LeCun for SELU."""

import keras
import numpy as np
import pytest

from kerasext.initializers import for_activation, initializer_name


@pytest.mark.parametrize(
    "activation, expected",
    [
        ("relu", keras.initializers.HeNormal),
        ("leaky_relu", keras.initializers.HeNormal),
        ("elu", keras.initializers.HeNormal),
        ("gelu", keras.initializers.HeNormal),
        ("swish", keras.initializers.HeNormal),
        ("ReLU", keras.initializers.HeNormal),
        (keras.activations.relu, keras.initializers.HeNormal),
        ("tanh", keras.initializers.GlorotUniform),
        ("sigmoid", keras.initializers.GlorotUniform),
        ("linear", keras.initializers.GlorotUniform),
        (None, keras.initializers.GlorotUniform),
        ("selu", keras.initializers.LecunNormal),
    ],
)
def test_family(activation, expected):
    assert isinstance(for_activation(activation), expected)
    assert initializer_name(activation) == expected.__name__


@pytest.mark.parametrize("activation, variance", [("relu", 2.0), ("selu", 1.0)])
def test_variance_matches_the_formula(activation, variance):
    fan_in = 400
    weights = np.asarray(for_activation(activation, seed=1)((fan_in, 500)))
    assert weights.var() == pytest.approx(variance / fan_in, rel=0.05)


def test_glorot_variance():
    fan_in, fan_out = 300, 500
    weights = np.asarray(for_activation("tanh", seed=1)((fan_in, fan_out)))
    assert weights.var() == pytest.approx(2.0 / (fan_in + fan_out), rel=0.05)


def test_seed_gives_same_weights_and_round_trips():
    a = for_activation("relu", seed=3)
    b = keras.initializers.deserialize(keras.initializers.serialize(a))
    assert np.array_equal(np.asarray(a((4, 5))), np.asarray(b((4, 5))))


@pytest.mark.parametrize("bad", ["softplusish", 3, ""])
def test_unknown_activation_names_the_value(bad):
    with pytest.raises(ValueError, match="Received: activation="):
        for_activation(bad)
