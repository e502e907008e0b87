"""What a run sets in its process before building a model: strategy, seeds, precision, data."""

import contextlib

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

    `--remat` is applied to the compiled model by `kerasext.runner.rematerialize`, which
    `Run.fit` and the variants' training call.
    """
    with strategy(args).scope():
        yield


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
            augment=augment, fold=fold, cache=getattr(args, "cache", "auto"),
            skip_bad_images=getattr(args, "skip_bad_images", False),
            resplit=getattr(args, "resplit", False),
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
