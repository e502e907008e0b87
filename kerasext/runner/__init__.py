"""The recipe runner: shared flags, one output folder per run, a CLI boundary, measured comparisons.

A recipe is `parse_args` -> `setup` -> `load_data` -> build and compile inside
`scope(args)` (the strategy's scope; `--remat` applied by `rematerialize`) -> `check_targets` -> `start_run`
-> `fit(callbacks=run.callbacks(train))` -> `finish`, wrapped in `run_cli`. A comparison
recipe trains its variants once per seed of `--seeds N` with `train_seeds` (`train_variants`
per seed), tabulates them with `Comparison` (mean ± 95% CI, paired effects) and judges its
claim with `Comparison.judge` (agrees, disagrees or inconclusive; `stats`).

Errors: `UsageError` (or a `ValueError` before `start_run`) is the user's input, one line and
exit code 2 from `run_cli`; any other exception is a failure, one line and exit code 1.

This package is the command line's entry: importing it starts TensorFlow without the C++
lines TensorFlow prints at start-up (`tf_start`), so import it before `keras` for a
recipe's errors to stay one line. Log output is set up by `setup`, not at import.
"""

from kerasext.runner import tf_start

tf_start.import_tensorflow()  # before Keras imports it: a recipe's errors stay one line

from kerasext.runner.backup import BackupAndResume, latest_checkpoint  # noqa: E402
from kerasext.runner.cli import run_cli  # noqa: E402
from kerasext.runner.errors import UsageError  # noqa: E402
from kerasext.runner.comparison import (  # noqa: E402
    COMPARISON_FILE,
    Comparison,
    command_line,
    format_value,
)
from kerasext.runner.flags import ArgumentParser, make_parser, parse_args  # noqa: E402
from kerasext.runner.folder import check_model_dir, start_run  # noqa: E402
from kerasext.runner.history import HistoryWriter  # noqa: E402
from kerasext.runner.plots import plot_variants  # noqa: E402
from kerasext.runner.process import load_data, scope, setup, strategy  # noqa: E402
from kerasext.runner.provenance import versions, weights_digest  # noqa: E402
from kerasext.runner.remat import rematerializable, rematerialize  # noqa: E402
from kerasext.runner.run import Run  # noqa: E402
from kerasext.runner.training import (  # noqa: E402
    EpochTimer,
    VariantResult,
    epochs_to_target,
    fit_variant,
    summarize_history,
)
from kerasext.runner.vertex import metric_value, report_metric  # noqa: E402

__all__ = [
    "ArgumentParser", "BackupAndResume", "COMPARISON_FILE", "Comparison", "EpochTimer",
    "HistoryWriter", "Run", "UsageError", "VariantResult", "check_model_dir", "command_line",
    "epochs_to_target", "fit_variant", "format_value", "latest_checkpoint", "load_data",
    "make_parser", "metric_value", "parse_args", "plot_variants", "rematerializable",
    "rematerialize", "report_metric", "run_cli", "scope", "setup", "start_run", "strategy",
    "summarize_history", "versions", "weights_digest",
]

# The one path a comparison recipe trains its variants by (see `variants`).
from kerasext.runner import stats, steps  # noqa: E402
from kerasext.runner.variants import (  # noqa: E402
    SeedRuns,
    TrainedVariant,
    Variant,
    load_one_hot,
    make_optimizer,
    one_hot,
    seed_list,
    train_seeds,
    train_variant,
    train_variants,
    with_seed,
)

__all__ += [
    "SeedRuns", "TrainedVariant", "Variant", "load_one_hot", "make_optimizer", "one_hot", "seed_list",
    "stats", "steps", "train_seeds", "train_variant", "train_variants", "with_seed",
]
