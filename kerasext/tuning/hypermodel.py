"""A Keras Tuner `HyperModel` whose hyperparameters are a recipe's own flags.

Keras Tuner's `HyperModel.build(hp)` usually returns a compiled model and `fit` trains
it. A recipe already builds, trains and evaluates its model from flags, so here `build(hp)`
declares one hyperparameter per search dimension and returns the recipe's command line for
those values, and `fit` runs the recipe's real `main(argv)` into a folder of the trial,
once, or once per fold with k-fold inside the trial.
"""

import argparse
import contextlib
import json
import os
import shutil
import time

import keras
import keras_tuner
import numpy as np

from kerasext import runner
from kerasext.tuning import folds, space as space_lib


class ObjectiveNotFound(keras_tuner.errors.FatalError, ValueError):
    """The objective names no metric the recipe writes: the sweep stops (bad input)."""


class RecipeHyperModel(keras_tuner.HyperModel):
    """Any recipe flag is a search dimension; a trial is the recipe's real run.

    Args:
        recipe: the recipe module (`recipes.<name>`), with `build_parser()` and `main(argv)`
            returning the metrics dict.
        space: `{flag name: spec}` in the search-space format (`kerasext.tuning.space`).
        fixed: recipe flags every trial gets (`["--epochs", "2", "--model", "mlp"]`).
            Defaults to `()`.
        objective: the metric a trial is scored by: a key of metrics.json's `final_epoch`
            (`val_accuracy`, ...) or `test_<name>`. Defaults to `"val_accuracy"`.
        cv: folds per trial, each run with the recipe's `--fold I/K` (so the recipe must
            have it: its data comes from `runner.load_data`); `None` scores the recipe's
            own validation split. Defaults to `None`.
        seed: the sweep's seed, recorded; the folds are seeded by the trials' `--seed`
            (the split's seed). Defaults to `0`.

    Raises:
        ValueError: if a dimension names no recipe flag, is also a fixed flag, or holds a
            value the recipe refuses; a fixed flag is refused; or `cv` is set for a recipe
            without `--fold`.
    """

    def __init__(self, recipe, space, fixed=(), objective="val_accuracy", cv=None, seed=0):
        self.recipe = recipe
        self.space = space_lib.check_space(space)
        self.fixed = list(fixed)
        self.objective = objective
        self.cv = cv
        self.seed = seed
        self.recipe_name = recipe.build_parser().get_default("recipe")
        super().__init__(name=self.recipe_name)
        self._check_flags()

    def build(self, hp):
        """Declares the dimensions in `hp`; returns the recipe's argv for `hp`'s values."""
        for name, spec in self.space.items():
            space_lib.declare(hp, name, spec)
        return self.argv(hp.values)

    def argv(self, values):
        """The recipe's command line for hyperparameter `values` (Hyperband's `tuner/epochs`
        becomes `--epochs`)."""
        argv = list(self.fixed)
        for name in self.space:
            argv += flag_args(self.parser(), name, values[name])
        if "tuner/epochs" in values:
            argv += [f"--epochs={int(values['tuner/epochs'])}"]
        return argv

    def config(self, argv):
        """The resolved flags a run of `argv` records in its config.json (without its folder):
        what `recipes/<recipe>.py --config` reads back."""
        args = runner.parse_args(self.parser(), argv)
        return {k: v for k, v in vars(args).items() if k not in ("config", "model_dir")}

    def fit(self, hp, argv, directory):
        """Runs the recipe for `argv` in `directory`/run, or `directory`/fold_<i> per fold.

        A run already finished there (a restarted worker, a resumed sweep) is read, not
        repeated; an unfinished one continues from its checkpoint (the runner's resume).

        Returns:
            `{objective: value, "seconds": ...}`, and with `cv` the folds' mean as the
            objective, `<objective>_std` (ddof=1) and `<objective>_fold<i>`.
        """
        started = time.time()
        if not self.cv:
            result = {self.objective: self._run(argv, os.path.join(directory, "run"))}
        else:
            values = []
            for index in range(self.cv):
                values.append(self._run([*argv, *folds.fold_flags(index, self.cv)],
                                        os.path.join(directory, f"fold_{index + 1}")))
            result = {self.objective: float(np.mean(values)),
                      f"{self.objective}_std": float(np.std(values, ddof=1))}
            result.update({f"{self.objective}_fold{i + 1}": v for i, v in enumerate(values)})
        result["seconds"] = round(time.time() - started, 1)
        return result

    def _run(self, argv, run_dir):
        finished = os.path.join(run_dir, "metrics.json")
        if os.path.exists(finished):
            with open(finished) as file:
                return self._score(json.load(file))
        if os.path.isdir(run_dir) and not os.path.exists(os.path.join(run_dir, "config.json")):
            shutil.rmtree(run_dir)  # killed before the run wrote anything of its own
        keras.backend.clear_session()
        os.makedirs(os.path.dirname(run_dir), exist_ok=True)
        log_path = f"{run_dir}.log"  # what the run printed: Keras' progress bars, its log lines
        with open(log_path, "a") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            try:
                metrics = self.recipe.main([*argv, "--model-dir", run_dir])
            except SystemExit as exit_:  # argparse in the recipe: a failed trial, not a dead sweep
                code = exit_.code
            else:
                code = None
        if code is not None:
            with open(log_path, errors="replace") as log:
                last = ([line.strip() for line in log if line.strip()] or ["no output"])[-1]
            raise ValueError(f"recipes/{self.recipe_name}.py exited with code {code}: {last}")
        return self._score(metrics)

    def _score(self, metrics):
        try:
            return runner.metric_value(metrics, self.objective)
        except ValueError as error:
            raise ObjectiveNotFound(f"`--objective` {self.objective!r}: {error}") from None

    def parser(self):
        """A fresh recipe parser whose errors raise `ValueError` instead of exiting."""
        parser = self.recipe.build_parser()

        def refuse(message):
            raise ValueError(f"recipes/{self.recipe_name}.py refuses {message}")

        parser.error = refuse
        return parser

    def _check_flags(self):
        parser = self.parser()
        options = parser._option_string_actions
        where = f"search space of recipes/{self.recipe_name}.py"
        if self.cv and "--fold" not in options:
            raise ValueError(
                f"`--cv` needs a recipe whose data comes from kerasext.runner.load_data (one "
                f"with a --fold flag); recipes/{self.recipe_name}.py loads its own. Received: --cv {self.cv}")
        for name in self.space:
            if f"--{name}" not in options or name in space_lib.NOT_SEARCHABLE:
                raise ValueError(
                    f"{where}: {name!r} names no flag of the recipe (see python recipes/"
                    f"{self.recipe_name}.py --help). Received: {name!r}")
        fixed = {options[f.split("=", 1)[0]].dest for f in self.fixed if f.split("=", 1)[0] in options}
        if self.cv and "fold" in fixed:
            raise ValueError("`--cv` gives every run its own --fold; drop --fold from the recipe flags")
        both = sorted(f"--{n}" for n in self.space if options[f"--{n}"].dest in fixed)
        if both:
            raise ValueError(f"{where}: flags both fixed and searched: {', '.join(both)}")
        self.config(self.fixed)  # the fixed flags alone
        check_args = getattr(self.recipe, "check_args", None)
        for name, spec in self.space.items():
            for value in space_lib.probe_values(spec):
                try:
                    args = runner.parse_args(self.parser(), self.fixed + flag_args(parser, name, value))
                    if check_args:
                        check_args(args)
                except ValueError as error:
                    raise ValueError(f"{where}: {name}={value!r}: {error}") from None


def flag_args(parser, name, value):
    """`--name=value` for the recipe's parser; a boolean flag becomes `--name` / `--no-name`."""
    action = parser._option_string_actions[f"--{name}"]
    value = value.item() if hasattr(value, "item") else value  # NumPy scalars (Bayesian optimization's)
    if isinstance(action, argparse.BooleanOptionalAction):
        return [f"--{name}" if _truthy(value) else f"--no-{name}"]
    if isinstance(action, argparse._StoreTrueAction):
        return [f"--{name}"] if _truthy(value) else []
    if isinstance(action, argparse._StoreFalseAction):
        return [] if _truthy(value) else [f"--{name}"]
    return [f"--{name}={value!r}" if isinstance(value, float) else f"--{name}={value}"]


def _truthy(value):
    return value is True or str(value).lower() in ("true", "1", "yes")
