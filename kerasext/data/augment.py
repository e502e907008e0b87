"""Batch augmentation in the pipeline, with random draws that depend on `(seed, epoch, batch)` only.

Keras' random layers draw from a `keras.random.SeedGenerator`, a variable that advances
on every call: the draws then depend on how many batches came before, so a run resumed
mid-epoch augments differently, and a parallel map would take the draws in a different
order on every run. Here, while the augmentation function is traced, every
`SeedGenerator` a step owns (its own, its sublayers') is replaced by a `CounterSeed`: a
stateless seed derived from `(seed, epoch, batch, step, draw)`. The traced graph holds no
random state, so batch `b` of epoch `e` is augmented the same way in every process
(bitwise, after a kill and resume too), and the map runs in parallel. The layer's own
generator is put back as soon as the function is traced.

This covers layers that draw through `keras.random` with a `SeedGenerator` attribute
(Keras' preprocessing layers, `RandAugment`, a `keras.Sequential` of them, kerasext's
`Cutout`, `Mixup`, `CutMix`, `MixupCutMix`). A plain function is mapped one call at a
time. Limits: a Keras layer that draws without its own generator (`keras.random.*` with
`seed=None`, or TensorFlow's stateful `tf.random.*`) keeps drawing from shared state,
so its draws are neither resumable nor ordered in the parallel map; and under a
non-TensorFlow Keras backend, Keras gives each layer a separate TensorFlow generator
for `tf.data`, which this does not replace.
"""

import contextlib

import keras
import tensorflow as tf


def check_augment(augment):
    """Returns `augment` as a list of callables, or raises a `ValueError`."""
    if augment is None:
        return []
    steps = list(augment) if isinstance(augment, (list, tuple)) else [augment]
    for step in steps:
        if not callable(step):
            raise ValueError(f"`augment` must be callables. Received: {step!r}")
    return steps


def apply_augmentation(dataset, augment):
    """Maps batch augmentations over a dataset of `(images, labels)` batches.

    The layers draw from their own random state, one batch at a time (so the draws come
    in the same order on every run). The pipelines of `load` and `make_dataset` instead
    key each batch's draws to `(seed, epoch, batch)`, which survives a resume.

    Args:
        dataset: a batched `tf.data.Dataset` of `(images, labels)`.
        augment: a callable or list of callables; see `load`.

    Returns:
        The mapped dataset; `model.fit` on it trains on augmented batches.
    """
    steps = check_augment(augment)
    return dataset.map(lambda images, labels: _apply(steps, images, labels))


def augment_numbered(dataset, augment, seed, prepare=None):
    """Maps `(images, labels, epoch, batch)` to augmented `(images, labels)`.

    Draws are keyed to `(seed, epoch, batch)`; the map is parallel when every step is a
    Keras layer (whose draws all go through its seed generators), else sequential.
    `prepare` (e.g. uint8 to float32) is applied to the images first, in the same map
    when it is parallel.
    """
    steps = check_augment(augment)
    prepare = prepare or (lambda images: images)

    def apply(images, labels, epoch, number):
        key = _fold(_fold(tf.constant([seed, 0], tf.int64), epoch), number)
        with contextlib.ExitStack() as stack:
            for place, step in enumerate(steps):
                stack.enter_context(_counter_seeds(step, _fold(key, place)))
            return _apply(steps, images, labels)

    def prepared(images, labels, epoch, number):
        return prepare(images), labels, epoch, number

    parallel = {"num_parallel_calls": tf.data.AUTOTUNE, "deterministic": True}
    if all(isinstance(step, keras.layers.Layer) for step in steps):
        return dataset.map(lambda *batch: apply(*prepared(*batch)), **parallel)
    return dataset.map(prepared, **parallel).map(apply)


def _fold(key, value):
    """A new stateless seed from a seed and a number: `[hash of the whole seed, value]`."""
    return tf.random.experimental.stateless_fold_in(key, value)


def _apply(steps, images, labels):
    for step in steps:
        if getattr(step, "mixes_labels", False):
            images, labels = step(images, labels)
        else:
            images = step(images)
    return images, labels


class CounterSeed(keras.random.SeedGenerator):
    """A stateless stand-in for a `SeedGenerator`: draw `i` gets `fold_in(key, i)`.

    It holds no variable; `next()` counts draws in Python, which is exact because the
    augmentation function is traced once and each draw site is visited once.
    """

    def __init__(self, key):  # no super().__init__: that would create a state variable
        self._key = key
        self._draws = 0
        self.name = "counter_seed"

    def next(self, ordered=True):
        self._draws += 1
        return _fold(self._key, self._draws)


@contextlib.contextmanager
def _counter_seeds(step, key):
    """Within the block, every `SeedGenerator` attribute of `step` (and its sublayers) draws from `key`."""
    owners = list(_generators(step, set()))
    for number, (owner, name, _) in enumerate(owners):
        # object.__setattr__: a Keras layer's own __setattr__ would track the stand-in.
        object.__setattr__(owner, name, CounterSeed(_fold(key, number)))
    try:
        yield
    finally:
        for owner, name, generator in owners:
            object.__setattr__(owner, name, generator)


def _generators(obj, seen):
    """`(owner, attribute, generator)` for the seed generators of a layer and its sublayers."""
    if id(obj) in seen or not hasattr(obj, "__dict__"):
        return
    seen.add(id(obj))
    for name, value in sorted(vars(obj).items()):
        if isinstance(value, keras.random.SeedGenerator):
            yield obj, name, value
        elif isinstance(value, keras.layers.Layer):
            yield from _generators(value, seen)
        elif isinstance(value, (list, tuple)) and not name.startswith("_seed_generators"):
            for item in value:
                if isinstance(item, keras.layers.Layer):
                    yield from _generators(item, seen)
