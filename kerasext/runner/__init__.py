"""The recipe runner: shared flags, one output folder per run, and a CLI boundary.

A recipe is `parse_args` -> `setup` -> `load_data` -> build and compile inside
`scope(args)` (the strategy's scope, plus `--remat`) -> `check_targets` -> `start_run`
-> `fit(callbacks=run.callbacks(train))` -> `finish`, wrapped in `run_cli`.
"""

from kerasext.runner.cli import run_cli
from kerasext.runner.flags import ArgumentParser, make_parser, parse_args
from kerasext.runner.run import (
    HistoryWriter,
    Run,
    check_model_dir,
    load_data,
    scope,
    setup,
    start_run,
    strategy,
    versions,
)
