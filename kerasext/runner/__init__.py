"""The recipe runner: shared flags, one output folder per run, and a CLI boundary.

A recipe is `parse_args` -> `setup` -> `load_data` -> build and compile inside
`strategy(args).scope()` -> `check_targets`
-> `start_run` -> `fit` -> `finish`, wrapped in `run_cli`.
"""

from kerasext.runner.cli import run_cli
from kerasext.runner.flags import ArgumentParser, make_parser, parse_args
from kerasext.runner.run import Run, load_data, setup, start_run, strategy, versions
