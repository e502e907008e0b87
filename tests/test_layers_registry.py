"""The augmentation registry builds the same layers the recipes built by hand."""

import keras
import numpy as np
import pytest

from kerasext import layers

# The recipes' factories (recipes/augmentation.py, recipes/train.py) as they
# were written before the registry, with their default flags; and `shift`,
# kerasext's whole-pixel translation, built from the same `translate_factor`.
OPTIONS = dict(
    seed=3,
    num_classes=5,
    rotate_factor=0.05,
    translate_factor=0.1,
    cutout_size=0.3,
    mixup_alpha=0.2,
    cutmix_alpha=1.0,
    switch_prob=0.5,
)
BY_HAND = {
    "flip": lambda o: keras.layers.RandomFlip("horizontal", seed=o["seed"]),
    "rotate": lambda o: keras.layers.RandomRotation(o["rotate_factor"], seed=o["seed"]),
    "translate": lambda o: keras.layers.RandomTranslation(
        o["translate_factor"], o["translate_factor"], seed=o["seed"]
    ),
    "shift": lambda o: layers.RandomShift(
        o["translate_factor"], o["translate_factor"], seed=o["seed"]
    ),
    "cutout": lambda o: layers.Cutout(o["cutout_size"], seed=o["seed"]),
    "mixup": lambda o: layers.Mixup(
        o["mixup_alpha"], num_classes=o["num_classes"], seed=o["seed"]
    ),
    "cutmix": lambda o: layers.CutMix(
        o["cutmix_alpha"], num_classes=o["num_classes"], seed=o["seed"]
    ),
    "mixup_cutmix": lambda o: layers.MixupCutMix(
        o["mixup_alpha"],
        o["cutmix_alpha"],
        switch_prob=o["switch_prob"],
        num_classes=o["num_classes"],
        seed=o["seed"],
    ),
}


def _config(layer):
    config = layer.get_config()
    config.pop("name")
    return config


def _run(layer):
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (6, 12, 12, 3)).astype("float32")
    if getattr(layer, "mixes_labels", False):
        out = layer(images, np.arange(6) % 5, training=True)
        return [keras.ops.convert_to_numpy(t) for t in out]
    return [keras.ops.convert_to_numpy(layer(images, training=True))]


def test_names_are_the_recipes_names():
    assert sorted(layers.AUGMENTATIONS) == sorted(BY_HAND)


@pytest.mark.parametrize("name", sorted(BY_HAND))
@pytest.mark.parametrize(
    "options",
    [OPTIONS, dict(OPTIONS, seed=11, mixup_alpha=0.4, switch_prob=0.7, cutout_size=4.0)],
    ids=["defaults", "other"],
)
def test_same_layer_config_and_output_as_by_hand(name, options):
    built = layers.get_augmentation(name, **options)
    expected = BY_HAND[name](options)
    assert type(built) is type(expected)
    assert _config(built) == _config(expected)
    for got, want in zip(_run(built), _run(expected), strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_list_keeps_the_order_of_the_names():
    names = ["mixup_cutmix", "flip", "cutout", "translate", "shift"]
    built = [layers.get_augmentation(n, **OPTIONS) for n in names]
    assert [type(b) for b in built] == [type(BY_HAND[n](OPTIONS)) for n in names]


def test_defaults_are_the_layers_defaults():
    assert _config(layers.get_augmentation("mixup_cutmix")) == _config(layers.MixupCutMix())
    assert _config(layers.get_augmentation("mixup")) == _config(layers.Mixup())
    assert _config(layers.get_augmentation("cutmix")) == _config(layers.CutMix())


def test_unknown_name_and_option():
    with pytest.raises(ValueError, match=r"`name` must be one of .*Received: name='blur'"):
        layers.get_augmentation("blur")
    with pytest.raises(ValueError, match=r"Received: mixup_alfa=0.3"):
        layers.get_augmentation("mixup", mixup_alfa=0.3)


def test_register_refuses_duplicates_and_is_read_only():
    with pytest.raises(ValueError, match=r"already registered.*Received: name='flip'"):
        layers.register_augmentation("flip", lambda seed=None: None)
    with pytest.raises(ValueError, match=r"`factory` must be callable"):
        layers.register_augmentation("not_callable_xyz", 3)
    with pytest.raises(TypeError):
        layers.AUGMENTATIONS["blur"] = None
    assert "not_callable_xyz" not in layers.AUGMENTATIONS


def test_register_a_new_name():
    from kerasext.layers import registry

    def identity(seed=None, strength=1.0):
        return keras.layers.Identity()

    layers.register_augmentation("identity_test", identity)
    try:
        assert isinstance(
            layers.get_augmentation("identity_test", seed=1, strength=2.0, num_classes=5),
            keras.layers.Identity,
        )
    finally:
        del registry._FACTORIES["identity_test"]


def test_shift_is_translate_in_whole_pixels():
    # `shift` reads the same option as `translate` and, with the same seed,
    # draws the same offsets: on a 10-pixel image with factor 0.1 (offsets of
    # at most one pixel, fractional for `translate`), `shift` is `translate`
    # with nearest interpolation; `translate` itself stays Keras' bilinear one.
    shift = layers.get_augmentation("shift", translate_factor=0.1, seed=4)
    translate = layers.get_augmentation("translate", translate_factor=0.1, seed=4)
    assert isinstance(shift, layers.RandomShift)
    assert (shift.height_factor, shift.width_factor, shift.seed) == (0.1, 0.1, 4)
    assert translate.get_config()["interpolation"] == "bilinear"
    nearest = keras.layers.RandomTranslation(0.1, 0.1, interpolation="nearest", seed=4)
    images = np.random.default_rng(0).uniform(0, 1, (8, 10, 10, 3)).astype("float32")
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(shift(images)), keras.ops.convert_to_numpy(nearest(images))
    )
