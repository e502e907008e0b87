"""The flags every recipe shares, grouped, with `--config FILE` to load a saved run's flags."""

import argparse
import json
import math
import os
import sys

from kerasext.data.splits import check_fractions
from kerasext.distribute.strategy import KINDS

MIXED_PRECISION_POLICIES = ("mixed_float16", "mixed_bfloat16")
# Flags that describe one run's place, not its settings: never taken from a saved config.
_NOT_FROM_CONFIG = ("config", "model_dir")
# Bounds on what one flag may make a run allocate (a one-line error names the limit).
MAX_EPOCHS = 100_000
MAX_BATCH_SIZE = 65_536
MAX_IMAGE_SIZE = 1024
MAX_SEED = 2**32 - 1  # NumPy's seeds
MAX_DEPTH = 1000  # layers, blocks or stages of a model
MAX_WIDTH = 8192  # units or filters per layer (8192 x 8192 float32 weights: 256 MiB a layer)
MAX_SEEDS = 100  # `--seeds`: each seed trains every variant once more
DEFAULT_SEEDS = 3  # at least 3: with 2 seeds the 95% t interval is 12.7 standard errors wide each side


class ArgumentParser(argparse.ArgumentParser):
    """`argparse` whose errors are one line (`prog: error: ...`) and exit with code 2.

    Flags are never abbreviated: `--model-d` is an error, not `--model-dir`. Every
    `type=float` flag takes finite numbers only (`finite_float`): `nan` and `inf` are refused.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self.register("type", float, finite_float)  # argparse looks `type` up here first
        self.error_prefix = ""

    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {self.error_prefix}{' '.join(message.split())}\n")
        sys.exit(2)


def make_parser(recipe, description=None, kfold=False, comparison=False, **defaults):
    """Builds the shared parser; a recipe adds its own argument group to it.

    Args:
        recipe: the recipe's name; the default output folder is `runs/<recipe>/<time>`.
        description: the recipe's docstring, shown by `--help`.
        kfold: adds `--fold I/K`: `load_data` then validates on fold I (1-based) of a
            stratified K-fold over the train + validation examples and trains on the others. Only for a recipe whose data all comes from
            `load_data`: a recipe that makes its own has no `--fold`, so a sweep's `--cv`
            refuses it. Defaults to `False`.
        comparison: adds `--seeds N` (default `DEFAULT_SEEDS`, 3): a comparison recipe trains
            every variant once per seed `--seed`, `--seed` + 1, ..., `--seed` + N - 1
            (`kerasext.runner.train_seeds`). Defaults to `False` (a single-model recipe).
        **defaults: new defaults for shared flags, by destination name (`epochs=30`, `seeds=5`).

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
    data.add_argument("--image-size", type=int_at_least(1, MAX_IMAGE_SIZE), default=None,
                      help=f"resize images to N x N (N <= {MAX_IMAGE_SIZE})")
    data.add_argument("--channels", type=int, choices=(1, 3), default=None, help="convert to 1 or 3 channels")
    data.add_argument(
        "--split", type=fractions, default=(0.8, 0.1, 0.1),
        help="train,validation,test fractions (default 0.8,0.1,0.1; a TFDS set keeps its "
        "official test split unless --resplit)",
    )
    data.add_argument(
        "--cache", default="auto", metavar="auto|memory|none|PATH",
        help="decoded images of a folder or TFDS set: auto (in memory when all splits take <= 1 GiB "
        "as uint8, else decoded every epoch), memory, none, or a local folder for memory-mapped .npy files",
    )
    data.add_argument(
        "--skip-bad-images", action="store_true",
        help="leave unreadable image files out (and log how many) instead of stopping with the first one's name",
    )
    data.add_argument(
        "--resplit", action="store_true",
        help="TFDS: pool every official split and split it by --split (default: keep the official "
        "test split; --split only carves validation from train)",
    )
    if kfold:
        data.add_argument(
            "--fold", type=fold, default=None, metavar="I/K",
            help="validate on fold I (1-based) of a stratified K-fold over the train + validation "
            "examples, train on the other folds; the test split is unchanged",
        )
    training = parser.add_argument_group("training")
    training.add_argument("--epochs", type=int_at_least(1, MAX_EPOCHS), default=10)
    training.add_argument("--batch-size", type=int_at_least(1, MAX_BATCH_SIZE), default=64)
    training.add_argument("--seed", type=seed, default=0, help="same seed, same run (on CPU)")
    if comparison:
        training.add_argument(
            "--seeds", type=int_at_least(1, MAX_SEEDS), default=DEFAULT_SEEDS, metavar="N",
            help=f"train every variant with seeds --seed ... --seed + N - 1, all variants of a seed from "
            f"the same initial weights; the table shows mean ± 95%% CI (default {DEFAULT_SEEDS}; "
            "with 1 every verdict is inconclusive)",
        )
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
    training.add_argument(
        "--remat", action="store_true",
        help="rematerialize: every layer that can run twice (no dropout, batch norm or frozen "
        "weights) recomputes its internals in the backward pass instead of keeping them; "
        "less memory, more compute",
    )
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

    A saved value goes through the same parser as the flag (its `type`, `choices`, bounds),
    so `{"checkpoint_every": -1}` is refused like `--checkpoint-every -1`, before anything
    is written; so is a config saved by another recipe.

    Returns:
        The resolved `argparse.Namespace`. On bad input it prints one line and exits with 2.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    if args.config:
        saved = _read_config(parser, args.config)
        saved_argv = config_argv(parser, args.config, saved)
        parser.error_prefix = f"--config {args.config}: "
        try:
            parser.parse_args(saved_argv)  # the saved values alone: errors name the file
        finally:
            parser.error_prefix = ""
        args = parser.parse_args([*saved_argv, *argv])  # the command line comes last: it wins
    try:
        args.split = check_fractions(args.split)
    except ValueError as error:
        parser.error(f"argument --split: {error}")
    if args.dataset is None and args.data_dir is None:
        args.dataset = "digits"
    if getattr(args, "seeds", 1) > 1 and args.seed + args.seeds - 1 > MAX_SEED:
        parser.error(f"argument --seeds: --seed + --seeds - 1 must be <= {MAX_SEED}. "
                     f"Received: --seed {args.seed} --seeds {args.seeds}")
    return args


def config_argv(parser, path, saved):
    """A saved config as the command-line flags that set it (`--epochs=3`, `--remat`, ...).

    Refuses (one line, exit 2) unknown flags, a config of another recipe, and values of
    the wrong kind (`{"dataset": 5}`).
    """
    actions = {action.dest: action for action in parser._actions if action.option_strings}
    unknown = sorted(set(saved) - set(actions) - {"recipe"})
    if unknown:
        parser.error(f"--config {path} has unknown flags: {', '.join(unknown)}")
    recipe = parser.get_default("recipe")
    if saved.get("recipe", recipe) != recipe:
        parser.error(f"--config {path} is a config of recipe {saved['recipe']!r}, not {recipe!r}")
    argv = []
    for dest, value in saved.items():
        if dest in _NOT_FROM_CONFIG or dest == "recipe" or value is None:
            continue
        action = actions[dest]
        flag = max((s for s in action.option_strings if not s.startswith("--no-")), key=len)
        if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction,
                               argparse.BooleanOptionalAction)):
            if not isinstance(value, bool):
                parser.error(f"--config {path}: `{dest}` must be true or false. Received: {value!r}")
            if isinstance(action, argparse.BooleanOptionalAction):
                argv.append(flag if value else "--no-" + flag[2:])
            elif value != action.default:
                argv.append(flag)
            continue
        if isinstance(value, list) and action.type is not None:
            text = ",".join(str(v) for v in value)  # --split 0.8,0.1,0.1, --profile 10,20
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool) and (
                action.type is not None or isinstance(value, str)):
            text = str(value)
        else:
            parser.error(f"--config {path}: `{dest}` must be "
                         f"{'a string' if action.type is None else 'a number or a string'}. "
                         f"Received: {value!r}")
        argv.append(f"{flag}={text}")
    return argv


def int_at_least(minimum, maximum=None):
    """An argparse `type`: an int >= `minimum` (and <= `maximum`), or a one-line error.

    `maximum` bounds what a value may make a run allocate; the error names the limit.
    """

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be an integer >= {minimum}. Received: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}. Received: {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(
                f"must be an integer <= {maximum} (the limit for this flag). Received: {value}")
        return value

    parse.__name__ = "int"  # argparse names the type in its own messages
    return parse


def int_between(minimum, maximum):
    """An argparse `type`: an int in [`minimum`, `maximum`] (`--depth`: `int_between(1, 1000)`)."""
    return int_at_least(minimum, maximum)


positive_int = int_at_least(1)
nonnegative_int = int_at_least(0)
seed = int_at_least(0, MAX_SEED)
depth = int_at_least(1, MAX_DEPTH)  # `--depth` of a recipe's model
width = int_at_least(1, MAX_WIDTH)  # `--width` (and `--filters`) of a recipe's model


def finite_float(text):
    """An argparse `type`: a finite number (`nan`, `inf` refused). Every `type=float` uses it."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number. Received: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number. Received: {text!r}")
    return value


def float_in(low=None, high=None, include_low=True, include_high=True):
    """An argparse `type`: a finite number in a range (`float_in(0, 1, include_high=False)`)."""

    def parse(text):
        value = finite_float(text)
        too_low = low is not None and (value < low if include_low else value <= low)
        too_high = high is not None and (value > high if include_high else value >= high)
        if too_low or too_high:
            bounds = " and ".join(
                b for b in (
                    low is not None and f"{'>=' if include_low else '>'} {low:g}",
                    high is not None and f"{'<=' if include_high else '<'} {high:g}",
                ) if b)
            raise argparse.ArgumentTypeError(f"must be a finite number {bounds}. Received: {text!r}")
        return value

    parse.__name__ = "float"
    return parse


positive_float = float_in(0, include_low=False)
nonnegative_float = float_in(0)
unit_interval_float = float_in(0, 1)


def step_range(text):
    try:
        start, stop = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be START,STOP steps like 10,20. Received: {text!r}") from None
    if not 1 <= start <= stop:
        raise argparse.ArgumentTypeError(f"needs 1 <= START <= STOP. Received: {text!r}")
    return [start, stop]


def fold(text):
    """An argparse `type`: `"I/K"` with 1 <= I <= K and K >= 2, returned as that text."""
    try:
        index, k = (int(v) for v in str(text).split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be I/K like 2/5 (fold I of K). Received: {text!r}") from None
    if k < 2 or not 1 <= index <= k:
        raise argparse.ArgumentTypeError(f"needs K >= 2 and 1 <= I <= K. Received: {text!r}")
    return f"{index}/{k}"


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
