"""Keras Tuner's four tuners, with trials that run a recipe (`RecipeHyperModel`).

The search algorithms are Keras Tuner's own (`GridSearch`, `RandomSearch`,
`BayesianOptimization`, `Hyperband`), and so are the sweep folder's state (oracle.json,
trial_*/trial.json), resuming (`overwrite=False`) and distribution (chief + workers over
gRPC). What changes is the trial: `run_trial` runs the recipe's `main` into
`<sweep>/trial_<id>/`, once or per fold, and returns the metrics; Keras Tuner's per-epoch
reporting, model checkpoints and Hyperband's warm start from the previous round's weights
are not used (a Hyperband trial trains from scratch for its `tuner/epochs`). A failed trial
is retried only when the infrastructure failed it (`kerasext.tuning.failures`).
"""

import glob
import json
import os
import sys
import time

import keras_tuner

from kerasext._validation import check_int
from kerasext.runner.errors import UsageError
from kerasext.tuning import distributed, failures

TUNERS = ("grid", "random", "bayesian", "hyperband")


class RecipeTrials:
    """Mixin for a Keras Tuner tuner: a trial is `hypermodel.fit(hp, hypermodel.build(hp), folder)`.

    Attributes:
        on_trial_ended: `None`, or a callable run after each trial ends in this process
            (the single-process sweep writes its results there).
    """

    on_trial_ended = None
    _polling = False

    def search(self, *args, **kwargs):
        """Keras Tuner's search; a worker `Workers` started stops with its chief, and a
        local sweep in which every trial failed raises a `SweepError` (exit code 1)."""
        worker = distributed.role() == "worker"
        if worker and os.environ.get(distributed.CHIEF_PID):
            distributed.exit_with_chief(int(os.environ[distributed.CHIEF_PID]))
        try:
            result = super().search(*args, **kwargs)
        except RuntimeError as error:  # Keras Tuner: too many failed trials in a row
            if isinstance(error, distributed.SweepError):
                raise
            raise failures.keras_tuner_stopped(error) from None
        if not worker:
            distributed.check_some_trial_completed(self.oracle)
        return result

    def run_trial(self, trial, *args, **kwargs):
        """Runs the recipe; its failure is FAILED at once (`failures.RecipeFailed`), the
        infrastructure's is retried (`failures.InfrastructureError`, Keras Tuner's INVALID)."""
        hp = trial.hyperparameters
        argv = self.hypermodel.build(hp)
        try:
            result = self.hypermodel.fit(hp, argv, self.get_trial_dir(trial.trial_id))
        except keras_tuner.errors.FatalError:  # the sweep's own bad input: it stops
            raise
        except Exception as error:  # noqa: BLE001 - every failure of a trial is told apart here
            raise failures.trial_failure(error) from error
        failures.check_objective(result, self.hypermodel.objective)
        return result

    def pre_create_trial(self):
        # Keras Tuner asks again at once when the oracle answers IDLE (a grid or Hyperband
        # round waiting for other workers' trials): without a pause a waiting worker keeps
        # the chief's single gRPC thread and a CPU busy.
        if self._polling:
            time.sleep(0.5)
        self._polling = True

    def on_trial_begin(self, trial):
        self._polling = False
        print(f"kerasext: {self.tuner_id} runs trial {trial.trial_id}", file=sys.stderr, flush=True)
        super().on_trial_begin(trial)

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        if self.on_trial_ended is not None:
            self.on_trial_ended()


class RecipeGridSearch(RecipeTrials, keras_tuner.GridSearch):
    """`keras_tuner.GridSearch` over a recipe's flags."""


class RecipeRandomSearch(RecipeTrials, keras_tuner.RandomSearch):
    """`keras_tuner.RandomSearch` over a recipe's flags."""


class RecipeBayesianOptimization(RecipeTrials, keras_tuner.BayesianOptimization):
    """`keras_tuner.BayesianOptimization` over a recipe's flags."""


class RecipeHyperband(RecipeTrials, keras_tuner.Hyperband):
    """`keras_tuner.Hyperband` over a recipe's flags; each trial trains from scratch."""


def make_tuner(kind, hypermodel, directory, objective="val_accuracy", direction="max",
               max_trials=10, seed=0, max_epochs=10, factor=3, max_retries=2):
    """Builds the tuner of a sweep folder; an existing folder is resumed (`overwrite=False`).

    On resume, trials a dead process left running count as infrastructure failures
    (`failures.recover`): they run again while they have retries left.

    Args:
        kind: `grid`, `random`, `bayesian` or `hyperband`.
        hypermodel: a `RecipeHyperModel`.
        directory: the sweep folder (Keras Tuner's project folder).
        objective: the metric to optimize. Defaults to `"val_accuracy"`.
        direction: `"max"` or `"min"`. Defaults to `"max"`.
        max_trials: trials at most (Hyperband too: its oracle stops there). Defaults to `10`.
        seed: seeds the oracle (as `seed + 1`: Keras Tuner draws a random seed for 0). Defaults to `0`.
        max_epochs: Hyperband's most epochs per trial. Defaults to `10`.
        factor: Hyperband's reduction factor. Defaults to `3`.
        max_retries: more runs of a trial the infrastructure failed (its process killed
            or dead, a lost RPC): Keras Tuner's `max_retries_per_trial`. A trial the
            recipe failed is never retried. Defaults to `2`.

    Returns:
        A `RecipeTrials` tuner.

    Raises:
        ValueError: for an unknown `kind`, `max_trials < 1` or `max_retries < 0`.
        UsageError: for a damaged oracle.json or trial.json in `directory` (`check_sweep_files`).
        SweepError: when the trials found running on resume make Keras Tuner stop the sweep.
    """
    if kind not in TUNERS:
        raise ValueError(f"`--tuner` must be one of {', '.join(TUNERS)}. Received: {kind!r}")
    if not isinstance(max_trials, int) or max_trials < 1:
        raise ValueError(f"`--max-trials` must be an integer >= 1. Received: {max_trials!r}")
    check_int("max_retries", max_retries, 0)
    directory = os.path.abspath(directory)
    running = check_sweep_files(directory)
    common = dict(
        hypermodel=hypermodel, objective=keras_tuner.Objective(objective, direction),
        # Keras Tuner's oracle takes seed 0 for "none" (`seed or random.randint(1, 10000)`)
        seed=seed + 1 if seed >= 0 else seed, directory=os.path.dirname(directory), project_name=os.path.basename(directory),
        overwrite=False, max_retries_per_trial=max_retries,
    )
    if kind == "hyperband":
        tuner = RecipeHyperband(max_epochs=max_epochs, factor=factor, hyperband_iterations=1, **common)
        tuner.oracle.max_trials = max_trials  # Keras Tuner's Hyperband has no max_trials
    elif kind == "bayesian":
        # Keras Tuner starts with max(3 x dimensions, 3) random trials; keep half the budget for the model.
        initial = min(max(3 * len(hypermodel.space), 3), max(2, max_trials // 2))
        tuner = RecipeBayesianOptimization(max_trials=max_trials, num_initial_points=initial, **common)
    else:
        cls = RecipeGridSearch if kind == "grid" else RecipeRandomSearch
        tuner = cls(max_trials=max_trials, **common)
    if distributed.role() != "worker":  # a worker's oracle is the chief's, over gRPC
        failures.recover(tuner.oracle, running)
        tuner.save()  # Keras Tuner reloads a folder only once its tuner file exists
    return tuner


def check_sweep_files(directory):
    """Refuses, in one line naming it, an oracle.json or trial_*/trial.json that does not read.

    Keras Tuner resumes a sweep from these files and fails on a truncated one with a JSON
    traceback that names no file.

    Returns:
        The ids of the trials oracle.json records as running (none without one).

    Raises:
        UsageError: naming the first file that is not a JSON object.
    """
    paths = [os.path.join(directory, "oracle.json"),
             *sorted(glob.glob(os.path.join(directory, "trial_*", "trial.json")))]
    running = []
    for path in paths:
        if not os.path.exists(path):
            continue
        try:
            with open(path) as file:
                state = json.load(file)
        except (OSError, UnicodeDecodeError, ValueError) as error:
            state = error
        if not isinstance(state, dict):
            reason = f"not JSON: {state}" if isinstance(state, Exception) else "not a JSON object"
            raise UsageError(
                f"{path} is damaged ({reason}), so the sweep in {directory} cannot resume; "
                "restore the file, or start the sweep over with --overwrite"
            )
        if path == paths[0]:
            ongoing = state.get("ongoing_trials")
            running = [str(t) for t in ongoing.values()] if isinstance(ongoing, dict) else []
    return running
