"""Which failed trials a sweep runs again: the infrastructure's failures, never the recipe's.

Keras Tuner 1.4.8 gives a trial that raised one of two ends: `INVALID` for any exception
(and for a NaN objective), retried up to the oracle's `max_retries_per_trial` (default 0),
or `FAILED` for a `keras_tuner.errors.FailedTrialError`, never retried. It counts a trial's
runs in `oracle._run_times` (saved in oracle.json) and stops the search after
`max_consecutive_failed_trials` (3) FAILED trials in a row. A trial left running when the
search died is queued again on reload, uncounted.

A sweep's trial is a recipe's real run, so "any exception" mixes two causes, told apart here:

- The recipe failed: it refused its flags (exit 2), raised (exit 1), its loss became NaN,
  or its objective is not finite. The same flags and seed fail again: `RecipeFailed`, a
  `FailedTrialError`: FAILED at once with its reason (unlike Keras Tuner, which would
  retry a NaN objective or a plain exception when retries are on).
- The infrastructure failed: the worker running the trial was killed or died (a signal,
  a lost RPC), a process died with the trial running (found RUNNING on resume), or the
  trial hit a lost RPC or a failing disk (`InfrastructureError`). The trial goes back to
  Keras Tuner's queue as INVALID, with its count: it runs again (resuming from its
  checkpoint) up to `max_retries_per_trial` (`--max-retries`) more times, then is FAILED
  with the reason. Unlike Keras Tuner, a trial found running on resume counts as a run, so
  a trial that kills its process is not retried without end. A sweep that stops in order
  (Ctrl-C, `--timeout`, an error) hands its running trials back uncounted (`release`).
"""

import errno
import math
import signal
import sys

import keras_tuner

from kerasext.tuning.distributed import SweepError

# OSError numbers of a failing machine, not of the recipe: full disk or quota, I/O error, stale NFS handle
INFRASTRUCTURE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.ESTALE)
# A lost RPC: gRPC's, or TensorFlow's (a distributed recipe's peers)
INFRASTRUCTURE_TYPES = ("RpcError", "UnavailableError", "DeadlineExceededError", "AbortedError")


class RecipeFailed(keras_tuner.errors.FailedTrialError):
    """The recipe itself failed: the trial is FAILED, not retried."""


class InfrastructureError(RuntimeError):
    """The machine failed the trial (a disk, an RPC): Keras Tuner retries it (INVALID)."""


def is_infrastructure(error):
    """Whether `error`, raised by a trial, is the infrastructure's failure, not the recipe's
    (it, or the error it was raised from)."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in INFRASTRUCTURE_ERRNOS:
            return True
        if any(cls.__name__ in INFRASTRUCTURE_TYPES for cls in type(error).__mro__):
            return True
        error = error.__cause__ or error.__context__
    return False


def trial_failure(error):
    """The exception a trial raises for `error`: `InfrastructureError` or `RecipeFailed`."""
    text = f"{type(error).__name__}: {' '.join(str(error).split())}"
    if is_infrastructure(error):
        return InfrastructureError(f"infrastructure: {text}")
    return RecipeFailed(f"recipe: {text}")


def check_objective(result, objective):
    """Raises `RecipeFailed` when the trial's objective is not a finite number (a NaN run)."""
    value = result.get(objective)
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RecipeFailed(f"recipe: the objective {objective} is {value}")


def reason(message):
    """The one-line reason of a trial's message (Keras Tuner keeps the traceback): its last
    line, without this module's exception names."""
    lines = (message or "").strip().splitlines()
    line = lines[-1].strip() if lines else "?"
    for cls in (RecipeFailed, InfrastructureError):
        line = line.removeprefix(f"{cls.__module__}.{cls.__qualname__}: ")
    return line


def describe_exit(code):
    """`"was killed by SIGKILL"` for a negative exit code, else `"exited with code N"`."""
    if code is not None and code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def retries(oracle, trial):
    """How many times `trial` was (or will be) run again after an infrastructure failure."""
    runs = getattr(oracle, "_run_times", {}).get(trial.trial_id, 0)
    return max(runs - 1, 0) if trial.status in ("COMPLETED", "FAILED") else runs


def fail_running(oracle, tuner_id, cause):
    """Ends the trial `tuner_id` was running as an infrastructure failure (its process died).

    Keras Tuner then queues it for another run, or marks it FAILED once it ran
    `max_retries_per_trial + 1` times.

    Args:
        oracle: the chief's (or local) oracle.
        tuner_id: the worker's tuner id (`tuner0`, ...).
        cause: what happened, e.g. `"worker tuner0 was killed by SIGKILL"`.

    Returns:
        The trial, or `None` when the worker was running none.

    Raises:
        SweepError: when Keras Tuner stops the sweep (too many failed trials in a row).
    """
    trial = oracle.ongoing_trials.get(tuner_id)
    if trial is None:
        return None
    if trial.status in ("COMPLETED", "FAILED"):
        # Ended, but Keras Tuner raised while ending it (so the worker's end_trial RPC
        # failed and it exited): its stop after too many failed trials in a row.
        try:
            oracle._check_consecutive_failures()
        except RuntimeError as error:
            raise keras_tuner_stopped(error) from None
        oracle._save_trial(trial)  # anything else: the ended trial is saved, the others go on
        oracle.ongoing_trials.pop(tuner_id)
        oracle.save()
        return trial
    _end_invalid(oracle, trial, cause)
    return trial


def recover(oracle, running_ids):
    """Counts the trials found RUNNING on resume (`running_ids`: oracle.json's
    `ongoing_trials` before the reload) as infrastructure failures: a process died with them.

    Keras Tuner's reload queued them again uncounted; here each counts as a run, so it runs
    again only while it has retries left.

    Raises:
        SweepError: when Keras Tuner stops the sweep (too many failed trials in a row).
    """
    for trial_id in running_ids:
        trial = oracle.trials.get(trial_id)
        if trial is None or trial_id not in oracle._retry_queue:
            continue
        oracle._retry_queue.remove(trial_id)
        _end_invalid(oracle, trial, "a sweep process died while it ran (found RUNNING on resume)")


def release(oracle):
    """Hands the running trials back to the queue, uncounted, and saves the oracle: an
    orderly stop of the sweep (Ctrl-C, `--timeout`, an error), not a failure. A trial that
    already ended (Keras Tuner stopped the sweep while ending it) is only saved."""
    running = dict(oracle.ongoing_trials)
    if not running:
        return
    for trial in running.values():
        if trial.status in ("COMPLETED", "FAILED"):
            oracle._save_trial(trial)
        elif trial.trial_id not in oracle._retry_queue:
            oracle._retry_queue.append(trial.trial_id)
    oracle.ongoing_trials.clear()
    oracle.save()


def keras_tuner_stopped(error):
    """A `SweepError` for Keras Tuner's `RuntimeError` after too many failed trials in a row."""
    lines = str(error).strip().splitlines() or ["?"]
    return SweepError(f"Keras Tuner stopped the sweep: {lines[0]} Last: {reason(lines[-1])}")


def _end_invalid(oracle, trial, cause):
    runs = getattr(oracle, "_run_times", {}).get(trial.trial_id, 0) + 1
    allowed = oracle.max_retries_per_trial + 1
    if runs < allowed:
        trial.message = f"infrastructure: {cause}; run {runs} of {allowed}, it runs again"
    else:
        trial.message = f"infrastructure: {cause}; run {runs} of {allowed}, no retry left"
    trial.status = "INVALID"  # Keras Tuner's TrialStatus.INVALID: retried while it has runs left
    print(f"kerasext: trial {trial.trial_id}: {trial.message}", file=sys.stderr, flush=True)
    # Keras Tuner's display would say "Trial N Complete" (and fails for a reloaded trial): quiet it
    display = getattr(oracle, "_display", None)
    verbose = getattr(display, "verbose", None)
    if display is not None:
        display.verbose = 0
    try:
        oracle.end_trial(trial)
    except RuntimeError as error:  # max_consecutive_failed_trials reached
        raise keras_tuner_stopped(error) from None
    finally:
        if display is not None:
            display.verbose = verbose

