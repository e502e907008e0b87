"""Keras Tuner's four tuners, with trials that run a recipe (`RecipeHyperModel`).

The search algorithms are Keras Tuner's own (`GridSearch`, `RandomSearch`,
`BayesianOptimization`, `Hyperband`), and so are the sweep folder's state (oracle.json,
trial_*/trial.json), resuming (`overwrite=False`) and distribution (chief + workers over
gRPC). What changes is the trial: `run_trial` runs the recipe's `main` into
`<sweep>/trial_<id>/`, once or per fold, and returns the metrics; Keras Tuner's per-epoch
reporting, model checkpoints and Hyperband's warm start from the previous round's weights
are not used (a Hyperband trial trains from scratch for its `tuner/epochs`).
"""

import glob
import json
import os
import sys
import time

import keras_tuner

from kerasext.runner.errors import UsageError
from kerasext.tuning import distributed

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
        result = super().search(*args, **kwargs)
        if not worker:
            distributed.check_some_trial_completed(self.oracle)
        return result

    def run_trial(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        argv = self.hypermodel.build(hp)
        return self.hypermodel.fit(hp, argv, self.get_trial_dir(trial.trial_id))

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
               max_trials=10, seed=0, max_epochs=10, factor=3):
    """Builds the tuner of a sweep folder; an existing folder is resumed (`overwrite=False`).

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

    Returns:
        A `RecipeTrials` tuner.

    Raises:
        ValueError: for an unknown `kind` or `max_trials < 1`.
        UsageError: for a damaged oracle.json or trial.json in `directory` (`check_sweep_files`).
    """
    if kind not in TUNERS:
        raise ValueError(f"`--tuner` must be one of {', '.join(TUNERS)}. Received: {kind!r}")
    if not isinstance(max_trials, int) or max_trials < 1:
        raise ValueError(f"`--max-trials` must be an integer >= 1. Received: {max_trials!r}")
    directory = os.path.abspath(directory)
    check_sweep_files(directory)
    common = dict(
        hypermodel=hypermodel, objective=keras_tuner.Objective(objective, direction),
        # Keras Tuner's oracle takes seed 0 for "none" (`seed or random.randint(1, 10000)`)
        seed=seed + 1 if seed >= 0 else seed, directory=os.path.dirname(directory), project_name=os.path.basename(directory),
        overwrite=False,
    )
    if kind == "hyperband":
        tuner = RecipeHyperband(max_epochs=max_epochs, factor=factor, hyperband_iterations=1, **common)
        tuner.oracle.max_trials = max_trials  # Keras Tuner's Hyperband has no max_trials
        return tuner
    if kind == "bayesian":
        # Keras Tuner starts with max(3 x dimensions, 3) random trials; keep half the budget for the model.
        initial = min(max(3 * len(hypermodel.space), 3), max(2, max_trials // 2))
        return RecipeBayesianOptimization(max_trials=max_trials, num_initial_points=initial, **common)
    cls = RecipeGridSearch if kind == "grid" else RecipeRandomSearch
    return cls(max_trials=max_trials, **common)


def check_sweep_files(directory):
    """Refuses, in one line naming it, an oracle.json or trial_*/trial.json that does not read.

    Keras Tuner resumes a sweep from these files and fails on a truncated one with a JSON
    traceback that names no file.

    Raises:
        UsageError: naming the first file that is not a JSON object.
    """
    paths = [os.path.join(directory, "oracle.json"),
             *sorted(glob.glob(os.path.join(directory, "trial_*", "trial.json")))]
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
