"""The two ways a run ends badly: the user's input was wrong (exit 2), or something failed (exit 1).

`UsageError` is the user's-input error class: a flag, a config file, an output folder, a
checkpoint to resume from. `run_cli` turns it into one line and exit code 2. A plain
`ValueError` counts as the user's input too while the run has not started training (the
library's argument checks, `kerasext.data.load` refusing a dataset, ...): until `start_run`
created the run's folder. From there until `Run.finish` has written the run's results, a
`ValueError` is a failure like any other exception (so a sweep, which runs trial after trial
in one process, still reports its own bad input as such between and after them).
"""

_state = {"started": False}


class UsageError(ValueError):
    """Bad input from the user (a flag, a config, a folder, a checkpoint): one line, exit code 2."""


def reset():
    """Marks the start of a command: inputs are being checked."""
    _state["started"] = False


def mark_started():
    """Marks that the run's inputs were accepted and its folder made (`start_run`)."""
    _state["started"] = True


def mark_finished():
    """Marks that the run wrote its results (`Run.finish`): training is over."""
    _state["started"] = False


def is_input_error(error):
    """Whether `error` is the user's input: a `UsageError`, or a `ValueError` before training."""
    return isinstance(error, UsageError) or (isinstance(error, ValueError) and not _state["started"])
