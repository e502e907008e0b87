"""Augmentations by name: one registry of layer factories.

`get_augmentation("mixup", num_classes=10, seed=0)` builds a layer from its
name; `AUGMENTATIONS` is the read-only view of what is registered, and
`register_augmentation` adds a name (and refuses one already taken), as the
Model Garden's factories do.

The built-in names are Keras' own geometric layers and kerasext's:

| name           | layer                                                      |
|----------------|------------------------------------------------------------|
| `flip`         | `keras.layers.RandomFlip("horizontal")`                    |
| `rotate`       | `keras.layers.RandomRotation(rotate_factor)`               |
| `translate`    | `keras.layers.RandomTranslation(translate_factor, translate_factor)` |
| `shift`        | `RandomShift(translate_factor, translate_factor)`: whole pixels, cheaper |
| `cutout`       | `Cutout(cutout_size)`                                      |
| `mixup`        | `Mixup(mixup_alpha, num_classes=num_classes)`              |
| `cutmix`       | `CutMix(cutmix_alpha, num_classes=num_classes)`            |
| `mixup_cutmix` | `MixupCutMix(mixup_alpha, cutmix_alpha, switch_prob=switch_prob, num_classes=num_classes)` |

each with `seed=seed`.
"""

import inspect
import types

import keras

from kerasext._validation import check_choice
from kerasext.layers.cutmix import CutMix
from kerasext.layers.cutout import Cutout
from kerasext.layers.mixup import Mixup
from kerasext.layers.mixup_cutmix import MixupCutMix
from kerasext.layers.random_shift import RandomShift

_FACTORIES = {}

# Read-only, live view of the registry: name -> factory.
AUGMENTATIONS = types.MappingProxyType(_FACTORIES)


def register_augmentation(name, factory):
    """Registers `factory` (keyword options -> layer) under `name`.

    Args:
        name: A non-empty string not registered yet.
        factory: A callable taking keyword options and returning a layer.

    Returns:
        `factory`.

    Raises:
        ValueError: If `name` is not a non-empty string or is already
            registered, or `factory` is not callable.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"`name` must be a non-empty string. Received: name={name!r}")
    if name in _FACTORIES:
        raise ValueError(
            f"`name` is already registered as an augmentation (to "
            f"{_FACTORIES[name]!r}). Received: name={name!r}"
        )
    if not callable(factory):
        raise ValueError(f"`factory` must be callable. Received: factory={factory!r}")
    _FACTORIES[name] = factory
    return factory


def get_augmentation(name, **options):
    """Builds the augmentation layer registered under `name`.

    The factory receives only the options it takes, so one set of options
    can build every name in a list (`seed` and `num_classes` are shared; a
    factory that does not use an option never sees it). An option that no
    registered factory takes is an error (a misspelling, most likely).

    Args:
        name: A key of `AUGMENTATIONS`.
        **options: Keyword options of the factories, such as `seed`,
            `num_classes`, `rotate_factor`, `translate_factor`,
            `cutout_size`, `mixup_alpha`, `cutmix_alpha`, `switch_prob`.

    Returns:
        A new layer.

    Raises:
        ValueError: If `name` is not registered or an option is taken by
            no registered factory.

    Example:

    ```python
    augment = [
        kerasext.layers.get_augmentation(name, num_classes=10, seed=0)
        for name in ("flip", "cutout", "mixup")
    ]
    ```
    """
    check_choice("name", name, sorted(_FACTORIES))
    known = set()
    for factory in _FACTORIES.values():
        known |= _options(factory) or set()
    open_ended = any(_options(f) is None for f in _FACTORIES.values())
    unknown = sorted(set(options) - known)
    if unknown and not open_ended:
        raise ValueError(
            f"Augmentation options must be among {sorted(known)}. "
            f"Received: {', '.join(f'{k}={options[k]!r}' for k in unknown)}"
        )
    factory = _FACTORIES[name]
    taken = _options(factory)
    if taken is not None:
        options = {k: v for k, v in options.items() if k in taken}
    return factory(**options)


def _options(factory):
    """Names of the keyword options `factory` takes; `None` for `**kwargs`."""
    names = set()
    for parameter in inspect.signature(factory).parameters.values():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            return None
        if parameter.kind in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
        ):
            names.add(parameter.name)
    return names


# --------------------------------------------------------------------------
# The built-in names. Defaults: the layers' own, and for the factors and
# the Cutout side (which the layers require) the recipes' defaults.


def _flip(seed=None):
    return keras.layers.RandomFlip("horizontal", seed=seed)


def _rotate(rotate_factor=0.05, seed=None):
    return keras.layers.RandomRotation(rotate_factor, seed=seed)


def _translate(translate_factor=0.1, seed=None):
    return keras.layers.RandomTranslation(translate_factor, translate_factor, seed=seed)


def _shift(translate_factor=0.1, seed=None):
    return RandomShift(translate_factor, translate_factor, seed=seed)


def _cutout(cutout_size=0.3, seed=None):
    return Cutout(cutout_size, seed=seed)


def _mixup(mixup_alpha=0.2, num_classes=None, seed=None):
    return Mixup(mixup_alpha, num_classes=num_classes, seed=seed)


def _cutmix(cutmix_alpha=1.0, num_classes=None, seed=None):
    return CutMix(cutmix_alpha, num_classes=num_classes, seed=seed)


def _mixup_cutmix(
    mixup_alpha=0.8, cutmix_alpha=1.0, switch_prob=0.5, num_classes=None, seed=None
):
    return MixupCutMix(
        mixup_alpha,
        cutmix_alpha,
        switch_prob=switch_prob,
        num_classes=num_classes,
        seed=seed,
    )


for _name, _factory in (
    ("flip", _flip),
    ("rotate", _rotate),
    ("translate", _translate),
    ("shift", _shift),
    ("cutout", _cutout),
    ("mixup", _mixup),
    ("cutmix", _cutmix),
    ("mixup_cutmix", _mixup_cutmix),
):
    register_augmentation(_name, _factory)
del _name, _factory
