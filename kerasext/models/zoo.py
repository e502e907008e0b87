"""`build_model(family, input_shape, num_classes, ...)`: one factory for every recipe's model.

Every weighted layer gets an initializer seeded from `seed` and its position, so two models
of the same family and width start from the same weights whatever their dropout, batch norm
or regularizers: a with/without comparison then differs only in the technique.
"""

import math

import keras

from kerasext._validation import check_int
from kerasext._validation import check_non_negative
from kerasext._validation import check_range
from kerasext.initializers import for_activation

FAMILIES = ("cnn", "mlp", "resnet", "fastnet")
# keras.applications bases accepted by name (any other keras.applications name also works).
APPLICATIONS = ("MobileNetV3Small", "MobileNetV2", "EfficientNetB0", "ResNet50")


def build_model(
    family,
    input_shape,
    num_classes,
    *,
    width=None,
    depth=None,
    activation="relu",
    dropout=0.0,
    batch_norm=False,
    l1=0.0,
    l2=0.0,
    kernel_initializer=None,
    seed=0,
    weights=None,
    whiten=None,
    name=None,
):
    """Builds a classifier ending in a float32 softmax.

    Args:
        family: `"cnn"` (the baseline's conv-conv-pool blocks), `"mlp"`, `"resnet"` (a small
            residual CNN), `"fastnet"` (a fast small-image CNN in the style of airbench: a
            stride-2 stem, then conv-pool-BN-ReLU-conv-BN-ReLU groups and a global max pool;
            see `benchmarks/time_to_accuracy.py`), or a `keras.applications` name such as
            `"MobileNetV3Small"`.
        input_shape: `(height, width, channels)` images, or `(features,)` (MLP only).
        num_classes: int >= 2, the softmax's width.
        width: filters of the first block (cnn 32, resnet 16, fastnet 64) or units per
            hidden layer (mlp 128). Defaults to `None` (those values).
        depth: conv blocks (cnn; default: as many as the image size allows, at most 3),
            hidden layers (mlp; default 2), residual stages (resnet; default 3), or conv
            groups (fastnet; default 3, each halving the side and doubling the filters).
        activation: hidden activation name. Defaults to `"relu"`.
        dropout: dropout rate in [0, 1) before each dense layer. Defaults to `0.0`.
        batch_norm: whether to normalize after each conv / hidden dense layer. The resnet
            and fastnet families always use batch norm. Defaults to `False`.
        l1, l2: kernel regularization factors >= 0. Default to `0.0`.
        kernel_initializer: an initializer name, a Keras config dict
            (`{"class_name": "RandomNormal", "config": {"stddev": 0.01}}`), or `"auto"`/`None`
            for `kerasext.initializers.for_activation(activation)`; seeded per layer.
        seed: int; the same seed gives the same initial weights. Defaults to `0`.
        weights: for `keras.applications` bases: `"imagenet"`, `None`, or a weights file.
        whiten: fastnet only: training images `(n, height, width, channels)` in the
            model's input scale, or `None`. Given, the stem is airbench's frozen whitening
            layer instead of a learned conv: a 2x2 conv over every (stride-1) patch, then
            the activation and, from 8x8 up, a 2x2 max pool (the learned stem's halving),
            whose `4 * channels` filters are the eigenvectors of the images' 2x2-patch covariance
            scaled by `1 / sqrt(eigenvalue + eps)`, and their negatives, so every filter's
            output has unit variance and none are correlated (`whitening_filters`). Defaults
            to `None` (the learned stem).
        name: the model's name. Defaults to the family.

    Returns:
        An uncompiled `keras.Model` whose output is softmax probabilities.

    Raises:
        ValueError: for an unknown family, a bad argument, or an input shape the family
            cannot take (e.g. a 2-D image for a `keras.applications` base).

    Example:

    ```python
    model = build_model("cnn", (8, 8, 1), 10, dropout=0.3, batch_norm=True)
    ```
    """
    _check(input_shape, num_classes, dropout, l1, l2, width, depth)
    layers = _Layers(activation, kernel_initializer, seed, l1, l2)
    inputs = keras.Input(tuple(input_shape))
    if family == "cnn":
        x = _cnn(inputs, layers, width or 32, depth, batch_norm)
    elif family == "mlp":
        x = keras.layers.Flatten()(inputs)
        for _ in range(2 if depth is None else depth):
            x = _dense_block(x, layers, width or 128, dropout, batch_norm)
        dropout = 0.0  # already applied before each hidden layer
    elif family == "resnet":
        x = _resnet(inputs, layers, width or 16, 3 if depth is None else depth)
    elif family == "fastnet":
        x = _fastnet(inputs, layers, width or 64, 3 if depth is None else depth, whiten)
    elif hasattr(keras.applications, str(family)) and str(family)[:1].isupper():
        x = _application(inputs, family, weights)
    else:
        raise ValueError(
            f"`family` must be one of {FAMILIES} or a keras.applications name such as "
            f"{APPLICATIONS}. Received: family={family!r}"
        )
    if family == "cnn":
        x = _dense_block(x, layers, 128, dropout, batch_norm)
    if dropout:
        x = keras.layers.Dropout(dropout, seed=seed)(x)
    logits = layers.dense(num_classes, activation=None)(x)
    outputs = keras.layers.Activation("softmax", dtype="float32")(logits)
    model = keras.Model(inputs, outputs, name=name or str(family).lower())
    if whiten is not None:
        if family != "fastnet":
            raise ValueError(f"`whiten` applies to the fastnet family only. Received: family={family!r}")
        model.get_layer("whiten").set_weights(list(whitening_filters(whiten, input_shape)))
    return model


def whitening_filters(images, input_shape=None, eps=5e-4, max_images=5000):
    """airbench's whitening filters for 2x2 patches: `(kernel, bias)` of a 2x2 Conv2D.

    The centred covariance of every 2x2 patch of (up to `max_images` of) `images` is
    eigendecomposed; each eigenvector scaled by `1 / sqrt(eigenvalue + eps * mean eigenvalue)`
    is a filter, followed by its negative (ReLU keeps both signs). The bias subtracts the
    patch mean, so the outputs have zero mean and identity covariance on these images.

    Args:
        images: array `(n, height, width, channels)`, n >= 1, height and width >= 2.
        input_shape: the model's input shape, checked against the images'. Defaults to `None`.
        eps: relative regularizer of small eigenvalues. Defaults to `5e-4` (airbench's).
        max_images: the first this many images are used. Defaults to `5000`.

    Returns:
        `(kernel, bias)`: float32 arrays of shapes `(2, 2, channels, 8 * channels)` and
        `(8 * channels,)`.
    """
    import numpy as np

    x = np.asarray(images)[:max_images]
    if x.ndim != 4 or x.shape[0] < 1 or min(x.shape[1:3]) < 2:
        raise ValueError(f"`whiten` must be images (n, height, width, channels) of at least 2x2. "
                         f"Received: an array of shape {np.shape(images)}")
    if input_shape is not None and tuple(x.shape[1:]) != tuple(input_shape):
        raise ValueError(f"`whiten` images must have the input shape {tuple(input_shape)}. "
                         f"Received: {tuple(x.shape[1:])}")
    channels = x.shape[-1]
    h, w = x.shape[1] - 1, x.shape[2] - 1
    total, outer, count = np.zeros(4 * channels), np.zeros((4 * channels, 4 * channels)), 0
    for start in range(0, len(x), 256):  # sums over chunks: memory does not grow with n
        chunk = x[start:start + 256].astype(np.float64)
        patches = np.stack([chunk[:, i:i + h, j:j + w, :] for i in range(2) for j in range(2)], axis=-2)
        patches = patches.reshape(-1, 4 * channels)  # (kernel row, kernel column, channel) order
        total += patches.sum(axis=0)
        outer += patches.T @ patches
        count += len(patches)
    mean = total / count
    covariance = (outer - count * np.outer(mean, mean)) / max(count - 1, 1)
    values, vectors = np.linalg.eigh(covariance)
    scale = 1.0 / np.sqrt(np.maximum(values, 0.0) + eps * max(values.mean(), 1e-12))
    filters = vectors * scale  # columns: one whitening filter each
    filters = np.concatenate([filters, -filters], axis=1)
    kernel = filters.reshape(2, 2, channels, 8 * channels).astype(np.float32)
    bias = (-(mean @ filters)).astype(np.float32)
    return kernel, bias


class _Layers:
    """Makes Dense / Conv2D layers with seeded initializers and the shared regularizer."""

    def __init__(self, activation, kernel_initializer, seed, l1, l2):
        self.activation = activation
        self.kernel_initializer = kernel_initializer
        self.seed = int(seed)
        self.count = 0
        self.regularizer = keras.regularizers.L1L2(l1=l1, l2=l2) if (l1 or l2) else None

    def _initializer(self, activation):
        self.count += 1
        seed = self.seed * 1000 + self.count
        if self.kernel_initializer in (None, "auto"):
            return for_activation(activation, seed=seed)
        if isinstance(self.kernel_initializer, dict):  # {"class_name": ..., "config": {...}}
            config = dict(self.kernel_initializer)
            config["config"] = {**config.get("config", {}), "seed": seed}
        else:
            config = {"class_name": self.kernel_initializer, "config": {"seed": seed}}
        try:
            return keras.initializers.get(config)
        except (TypeError, ValueError):  # initializers without a seed (zeros, ones)
            return keras.initializers.get(self.kernel_initializer)

    def dense(self, units, activation="hidden", init_for="hidden"):
        """`init_for`: the activation that follows (for the initializer), when not `activation`."""
        activation = self.activation if activation == "hidden" else activation
        init_for = activation if init_for == "hidden" else init_for
        return keras.layers.Dense(
            units, activation=activation, kernel_initializer=self._initializer(init_for),
            kernel_regularizer=self.regularizer,
        )

    def conv(self, filters, strides=1, activation="hidden", kernel_size=3):
        activation = self.activation if activation == "hidden" else activation
        return keras.layers.Conv2D(
            filters, kernel_size, strides=strides, padding="same", activation=activation,
            kernel_initializer=self._initializer(activation or self.activation),
            kernel_regularizer=self.regularizer,
        )


def _dense_block(x, layers, units, dropout, batch_norm):
    if dropout:
        x = keras.layers.Dropout(dropout, seed=layers.seed + layers.count)(x)
    if batch_norm:
        x = layers.dense(units, activation=None, init_for=layers.activation)(x)
        x = keras.layers.BatchNormalization()(x)
        return keras.layers.Activation(layers.activation)(x)
    return layers.dense(units)(x)


def _cnn(inputs, layers, filters, depth, batch_norm):
    _need_image(inputs, "cnn")
    size = min(inputs.shape[1:3])
    blocks = depth or max(1, min(3, int(math.log2(size / 2))))
    x = inputs
    for block in range(blocks):
        for _ in range(2):
            if batch_norm:
                x = layers.conv(filters * 2**block, activation=None)(x)
                x = keras.layers.BatchNormalization()(x)
                x = keras.layers.Activation(layers.activation)(x)
            else:
                x = layers.conv(filters * 2**block)(x)
        if min(x.shape[1:3]) >= 2:
            x = keras.layers.MaxPooling2D()(x)
    return keras.layers.Flatten()(x)


def _resnet(inputs, layers, filters, stages):
    _need_image(inputs, "resnet")
    act = layers.activation
    x = layers.conv(filters, activation=None)(inputs)
    x = keras.layers.Activation(act)(keras.layers.BatchNormalization()(x))
    for stage in range(stages):
        strides = 2 if stage and min(x.shape[1:3]) >= 4 else 1
        width = filters * 2**stage
        shortcut = x
        y = layers.conv(width, strides, activation=None)(x)
        y = keras.layers.Activation(act)(keras.layers.BatchNormalization()(y))
        y = layers.conv(width, activation=None)(y)
        y = keras.layers.BatchNormalization(gamma_initializer="zeros")(y)  # block starts as identity
        if strides != 1 or shortcut.shape[-1] != width:
            shortcut = layers.conv(width, strides, activation=None, kernel_size=1)(shortcut)
        x = keras.layers.Activation(act)(keras.layers.Add()([shortcut, y]))
    return keras.layers.GlobalAveragePooling2D()(x)


def _fastnet(inputs, layers, filters, groups, whiten=None):
    """airbench-style (Jordan, 2024, arXiv:2404.00498) CNN, cut down for CPUs.

    A stride-2 3x3 stem (half the first group's filters) quarters the pixels every later
    layer sees (with `whiten`: a frozen 2x2 whitening conv at full resolution, the activation,
    then a 2x2 max pool; a stride-2 whitening conv, tried first, whitened only every other
    patch and ended ~1 point lower in single-seed runs, docs/benchmarks.md); each group is
    conv -> 2x2 max pool -> BN -> act -> conv -> BN -> act, with
    no conv biases (BN follows). BN momentum 0.8: the running statistics keep up with a
    short, high-learning-rate schedule. Global max pool, then features scaled by 1/8
    (airbench's scaled logits), so a high learning rate does not saturate the softmax.
    """
    _need_image(inputs, "fastnet")

    def conv_bn_act(x, width, strides=1, pool=False):
        x = keras.layers.Conv2D(
            width, 3, strides=strides, padding="same", use_bias=False,
            kernel_initializer=layers._initializer(layers.activation),
            kernel_regularizer=layers.regularizer,
        )(x)
        if pool and min(x.shape[1:3]) >= 2:
            x = keras.layers.MaxPooling2D()(x)
        x = keras.layers.BatchNormalization(momentum=0.8)(x)
        return keras.layers.Activation(layers.activation)(x)

    stem_strides = 2 if min(inputs.shape[1:3]) >= 8 else 1
    if whiten is None:
        x = conv_bn_act(inputs, max(1, filters // 2), strides=stem_strides)
    else:  # frozen, set by build_model from the images: airbench's whitening layer
        x = keras.layers.Conv2D(8 * inputs.shape[-1], 2, padding="same", use_bias=True,
                                trainable=False, name="whiten")(inputs)
        x = keras.layers.Activation(layers.activation)(x)
        if stem_strides == 2:  # every overlapping patch whitened, then halved as the stem does
            x = keras.layers.MaxPooling2D()(x)
    for group in range(groups):
        width = filters * 2**group
        x = conv_bn_act(x, width, pool=True)
        x = conv_bn_act(x, width)
    x = keras.layers.GlobalMaxPooling2D()(x)
    return keras.layers.Rescaling(0.125)(x)


def _application(inputs, family, weights):
    _need_image(inputs, family)
    if inputs.shape[-1] != 3 or min(inputs.shape[1:3]) < 32:
        raise ValueError(
            f"keras.applications.{family} needs RGB images of at least 32x32; pass "
            f"--image-size 32 --channels 3. Received: input_shape={tuple(inputs.shape[1:])}"
        )
    try:
        base = getattr(keras.applications, family)(
            include_top=False, weights=weights, input_shape=tuple(inputs.shape[1:]), pooling="avg",
        )
    except Exception as error:  # noqa: BLE001 - offline: URL, socket or SSL errors of many kinds
        if weights != "imagenet" or isinstance(error, ValueError):
            raise
        raise ValueError(
            f"ImageNet weights for {family} cannot be downloaded here ({type(error).__name__}: "
            f"no network?); pass `weights` a weights file, or weights=None. Received: weights='imagenet'"
        ) from None
    return base(inputs * 255.0)  # applications expect [0, 255] inputs and rescale themselves


def _need_image(inputs, family):
    if len(inputs.shape) != 4:
        raise ValueError(
            f"The {family} family needs images (height, width, channels). "
            f"Received: input_shape={tuple(inputs.shape[1:])}; use family='mlp' for features."
        )


def _check(input_shape, num_classes, dropout, l1, l2, width, depth):
    check_int("num_classes", num_classes, 2)
    check_range("dropout", dropout, 0, 1, include_high=False)
    check_non_negative("l1", l1)
    check_non_negative("l2", l2)
    check_int("width", width, 1, allow_none=True)
    check_int("depth", depth, 1, allow_none=True)
    if not input_shape:
        raise ValueError(f"`input_shape` must not be empty. Received: input_shape={input_shape!r}")
