"""The flags every recipe shares, grouped, with `--config FILE` to load a saved run's flags."""

import argparse
import json
import os
import sys

from kerasext.data.splits import check_fractions
from kerasext.distribute.strategy import KINDS

MIXED_PRECISION_POLICIES = ("mixed_float16", "mixed_bfloat16")
# Flags that describe one run's place, not its settings: never taken from a saved config.
_NOT_FROM_CONFIG = ("config", "model_dir")


class ArgumentParser(argparse.ArgumentParser):
    """`argparse` whose errors are one line (`prog: error: ...`) and exit with code 2."""

    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {' '.join(message.split())}\n")
        sys.exit(2)


def make_parser(recipe, description=None, **defaults):
    """Builds the shared parser; a recipe adds its own argument group to it.

    Args:
        recipe: the recipe's name; the default output folder is `runs/<recipe>/<time>`.
        description: the recipe's docstring, shown by `--help`.
        **defaults: new defaults for shared flags, by destination name (`epochs=30`).

    Returns:
        An `ArgumentParser` with the groups data, training and output.
    """
    parser = ArgumentParser(
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--dataset", default=None,
        help="'digits' (default, bundled), a TFDS name, an .npz file with x and y, "
        "or a folder of class subfolders",
    )
    data.add_argument(
        "--data-dir", default=None,
        help="TFDS data folder for a TFDS --dataset; alone, a folder of class subfolders",
    )
    data.add_argument("--image-size", type=positive_int, default=None, help="resize images to N x N")
    data.add_argument("--channels", type=int, choices=(1, 3), default=None, help="convert to 1 or 3 channels")
    data.add_argument(
        "--split", type=fractions, default=(0.8, 0.1, 0.1),
        help="train,validation,test fractions (default 0.8,0.1,0.1)",
    )
    training = parser.add_argument_group("training")
    training.add_argument("--epochs", type=positive_int, default=10)
    training.add_argument("--batch-size", type=positive_int, default=64)
    training.add_argument("--seed", type=int, default=0, help="same seed, same run (on CPU)")
    training.add_argument(
        "--mixed-precision", nargs="?", const="mixed_float16", default=None,
        choices=MIXED_PRECISION_POLICIES, help="compute in float16 (default) or bfloat16",
    )
    training.add_argument(
        "--strategy", default="auto", choices=KINDS,
        help="distribution strategy (default auto: TPU, multi-worker, multi-GPU, else default)",
    )
    training.add_argument("--tpu", default=None, help="TPU name or address for --strategy tpu ('local' on a TPU VM)")
    training.add_argument("--deterministic", action="store_true", help="turn on TensorFlow op determinism")
    training.add_argument("--remat", action="store_true", help="rematerialize activations (keras.RematScope) to save memory")
    output = parser.add_argument_group("output")
    output.add_argument(
        "--model-dir", default=None,
        help=f"output folder (default $AIP_MODEL_DIR, else runs/{recipe}/<time>); never overwritten",
    )
    output.add_argument("--config", default=None, help="a saved config.json whose flags become defaults")
    output.add_argument(
        "--checkpoint-every", type=nonnegative_int, default=100,
        help="steps between checkpoints in <model-dir>/backup (0: epoch ends only); "
        "the same command resumes a killed run",
    )
    output.add_argument("--profile", type=step_range, default=None, help="START,STOP: profile those steps (TensorBoard)")
    parser.set_defaults(recipe=recipe, **defaults)
    return parser


def parse_args(parser, argv=None):
    """Parses flags; values from `--config FILE` act as defaults that the command line overrides.

    Returns:
        The resolved `argparse.Namespace`. On bad input it prints one line and exits with 2.
    """
    args = parser.parse_args(argv)
    if args.config:
        saved = _read_config(parser, args.config)
        known = {action.dest for action in parser._actions} | {"recipe"}
        unknown = sorted(set(saved) - known)
        if unknown:
            parser.error(f"--config {args.config} has unknown flags: {', '.join(unknown)}")
        parser.set_defaults(**{k: v for k, v in saved.items() if k not in _NOT_FROM_CONFIG})
        args = parser.parse_args(argv)
    for name in ("epochs", "batch_size"):  # values from a config file skip argparse's `type`
        value = getattr(args, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            parser.error(f"argument --{name.replace('_', '-')}: must be an integer >= 1. Received: {value!r}")
    try:
        args.split = check_fractions(args.split)
    except ValueError as error:
        parser.error(f"argument --split: {error}")
    if args.dataset is None and args.data_dir is None:
        args.dataset = "digits"
    return args


def int_at_least(minimum):
    """An argparse `type`: an int >= `minimum`, or a one-line error naming the value."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be an integer >= {minimum}. Received: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}. Received: {value}")
        return value

    return parse


positive_int = int_at_least(1)
nonnegative_int = int_at_least(0)


def step_range(text):
    try:
        start, stop = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be START,STOP steps like 10,20. Received: {text!r}") from None
    if not 1 <= start <= stop:
        raise argparse.ArgumentTypeError(f"needs 1 <= START <= STOP. Received: {text!r}")
    return [start, stop]


def fractions(text):
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be three comma-separated fractions like 0.8,0.1,0.1. Received: {text!r}"
        ) from None
    try:
        return check_fractions(values)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _read_config(parser, path):
    if not os.path.isfile(path):
        parser.error(f"argument --config: file does not exist. Received: {path}")
    try:
        with open(path) as file:
            saved = json.load(file)
    except (OSError, json.JSONDecodeError) as error:
        parser.error(f"argument --config: cannot read {path} as JSON: {error}")
    if not isinstance(saved, dict):
        parser.error(f"argument --config: {path} must hold a JSON object of flags")
    return saved
