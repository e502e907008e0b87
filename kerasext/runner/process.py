"""What a run sets in its process before building a model: strategy, seeds, precision, data."""

import contextlib
import functools
import inspect

import keras
import tensorflow as tf

from kerasext import data as kdata
from kerasext.distribute import get_strategy, is_chief
from kerasext.runner import logs
from kerasext.runner.folder import check_model_dir

_strategies = {}


def setup(args):
    """Checks the output folder, seeds everything, sets precision and determinism.

    Also shows kerasext's own log lines (the strategy chosen, a resume, ...) on stderr,
    held back until `start_run` so that a bad input prints only its error.
    """
    if is_chief():  # other workers write nothing of the run
        check_model_dir(args)
    logs.pause()
    strategy(args)  # first: a multi-worker strategy must exist before any TensorFlow op runs
    keras.utils.set_random_seed(args.seed)
    keras.mixed_precision.set_global_policy(args.mixed_precision or "float32")
    if getattr(args, "deterministic", False):
        tf.config.experimental.enable_op_determinism()


def strategy(args):
    """`kerasext.distribute.get_strategy` with `--strategy` and `--tpu`, made once per process."""
    key = (args.strategy, args.tpu)
    if key not in _strategies:
        _strategies[key] = get_strategy(args.strategy, tpu=args.tpu)
    return _strategies[key]


@contextlib.contextmanager
def scope(args):
    """Build and compile the model in here: the distribution strategy's scope.

    `--remat` is applied to the built model by `rematerialize`, which `Run.fit` and the
    variants' training call.
    """
    with strategy(args).scope():
        yield


def rematerialize(args, model):
    """With `--remat`, makes every layer of `model` that can run twice recompute in the backward pass.

    Such a layer keeps only its inputs for the backward pass; what it computes inside
    (a pre-activation, a GELU's or a normalization's temporaries) is computed again there
    (`keras.remat`) instead of being held from the forward pass: less memory for more
    compute. A layer qualifies (`rematerializable`) when running it again gives the same
    outputs and changes nothing. Call it before the first `fit`; calling it again does nothing.

    Keras' own `RematScope` cannot do this on Keras 3.15.1 with TensorFlow: its remat is
    given the call's keyword arguments (`training`, which `Dense` takes), which TensorFlow's
    `recompute_grad` refuses in a graph, and `mode="activations"` recomputes only the
    activation function, whose input is kept anyway: no memory saved.

    Returns:
        The names of the layers recomputed (empty without `--remat`).
    """
    if not getattr(args, "remat", False):
        return []
    names = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if getattr(layer, "_kerasext_remat", False):
            names.append(layer.name)
        elif rematerializable(layer):
            layer.call = _recomputed(layer.call)
            layer._kerasext_remat = True
            names.append(layer.name)
    return names


def rematerializable(layer):
    """Whether `rematerialize` recomputes `layer`: running it again gives the same and changes nothing.

    That is a single layer (no sublayers, not a model) without non-trainable variables
    (no batch statistics to update twice, no random seed state to draw a second dropout
    mask or augmentation from, not frozen) whose `call` takes no `mask`.
    """
    if isinstance(layer, keras.Model) or layer._flatten_layers(include_self=False, recursive=False):
        return False
    if layer.non_trainable_variables or not layer.trainable_variables and _has_seed(layer):
        return False
    return "mask" not in inspect.signature(layer.call).parameters


def _has_seed(layer):
    return any(isinstance(v, keras.random.SeedGenerator) for v in vars(layer).values())


def _recomputed(call):
    """`call` run under `keras.remat`, its keyword arguments (`training=...`) closed over."""

    @functools.wraps(call)
    def recomputed_call(*args, **kwargs):
        return keras.remat(lambda *inputs: call(*inputs, **kwargs))(*args)

    return recomputed_call


def load_data(args, augment=None):
    """`kerasext.data.load` with the shared data flags, and `--fold I/K` where the recipe has it.

    Raises:
        ValueError: for bad data, or a `--fold` the data cannot have (naming `--fold`).
    """
    fold = fold_pair(getattr(args, "fold", None))
    try:
        return kdata.load(
            args.dataset, split=args.split, batch_size=args.batch_size, seed=args.seed,
            image_size=args.image_size, channels=args.channels, data_dir=args.data_dir,
            augment=augment, fold=fold,
        )
    except ValueError as error:
        if fold is None or "`fold`" not in str(error):
            raise
        raise ValueError(f"`--fold` {args.fold}: {error}") from None


def fold_pair(text):
    """`--fold`'s `"I/K"` (1-based) as `data.load`'s `fold=(I - 1, K)`; `None` stays `None`."""
    if text is None:
        return None
    index, k = (int(v) for v in str(text).split("/"))
    return index - 1, k
