"""The initializer that keeps activations' variance steady for a given activation.

He et al. (2015) derive a variance of `2 / fan_in` for the ReLU family (half the units
are zero), Glorot & Bengio (2010) `2 / (fan_in + fan_out)` for tanh and sigmoid, and
Klambauer et al. (2017) `1 / fan_in` (LeCun) for SELU's self-normalizing fixed point.
"""

import keras

# Activation name -> Keras initializer class name.
INITIALIZERS = {
    **dict.fromkeys(
        ("relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "swish", "mish", "hard_silu",
         "hard_swish", "celu", "prelu"),
        "HeNormal",
    ),
    **dict.fromkeys(
        ("tanh", "sigmoid", "hard_sigmoid", "softmax", "softsign", "linear", "none"),
        "GlorotUniform",
    ),
    "selu": "LecunNormal",
}


def initializer_name(activation):
    """The name of the initializer `for_activation` picks, e.g. `"HeNormal"`.

    Args:
        activation: an activation name (`"relu"`, `"tanh"`, ...), `None` (linear), or a
            Keras activation function.

    Returns:
        `"HeNormal"`, `"GlorotUniform"` or `"LecunNormal"`.

    Raises:
        ValueError: for an activation not in `INITIALIZERS`.
    """
    key = _key(activation)
    if key not in INITIALIZERS:
        raise ValueError(
            f"`activation` has no known initializer; use one of {sorted(INITIALIZERS)}. "
            f"Received: activation={activation!r}"
        )
    return INITIALIZERS[key]


def for_activation(activation, seed=None):
    """Returns the initializer suited to `activation`.

    He normal for the ReLU family (ReLU, leaky ReLU, ELU, GELU, SiLU/swish, mish), Glorot
    uniform for tanh, sigmoid and linear layers (Keras' default), LeCun normal for SELU.

    Args:
        activation: an activation name, `None` (linear), or a Keras activation function
            such as `keras.activations.relu`.
        seed: an int seed, so that two models built with the same seeds start from the
            same weights. Defaults to `None` (drawn from Keras' global seed).

    Returns:
        A `keras.initializers.Initializer`.

    Raises:
        ValueError: for an unknown activation.

    References:
        - [He et al., 2015](https://arxiv.org/abs/1502.01852)
        - [Glorot & Bengio, 2010](https://proceedings.mlr.press/v9/glorot10a.html)
        - [Klambauer et al., 2017](https://arxiv.org/abs/1706.02515)

    Example:

    ```python
    layer = keras.layers.Dense(64, activation="relu", kernel_initializer=for_activation("relu"))
    ```
    """
    return getattr(keras.initializers, initializer_name(activation))(seed=seed)


def _key(activation):
    if activation is None:
        return "none"
    if callable(activation) and not isinstance(activation, str):
        activation = getattr(activation, "__name__", type(activation).__name__)
    if not isinstance(activation, str):
        return None
    return activation.strip().lower().replace("-", "_")
