"""Hyperparameter sweeps over the recipes with Keras Tuner: grid, random, Bayesian, Hyperband.

`RecipeHyperModel` makes any recipe flag a search dimension and runs the recipe itself as
a trial, with k-fold cross-validation inside the trial if asked (`folds`: the recipe's
`--fold I/K` per run); `make_tuner` wraps Keras Tuner's tuners around it; `SweepResults`
writes trials.csv, best.json, a plot and TensorBoard HParams; `distributed` runs a chief and
worker processes; `failures` tells a trial the recipe failed (FAILED at once) from one the
infrastructure failed (retried, bounded). A run reports its metric to Vertex AI tuning itself
(`kerasext.runner.report_metric`, also here). `recipes/sweep.py` is the command line.
"""

from kerasext.runner.vertex import metric_value, report_metric
from kerasext.tuning.distributed import SweepError, Workers, free_port, serve
from kerasext.tuning.failures import InfrastructureError, RecipeFailed
from kerasext.tuning.folds import check_cv, fold_flags
from kerasext.tuning.hypermodel import ObjectiveNotFound, RecipeHyperModel
from kerasext.tuning.results import SweepResults, plot_trials, write_hparams
from kerasext.tuning.space import check_space, default_space, read_space
from kerasext.tuning.tuners import TUNERS, make_tuner

__all__ = [
    "InfrastructureError", "ObjectiveNotFound", "RecipeFailed", "RecipeHyperModel", "SweepError",
    "SweepResults", "TUNERS", "Workers", "check_cv", "check_space", "default_space", "fold_flags",
    "free_port", "make_tuner", "metric_value", "plot_trials", "read_space", "report_metric", "serve",
    "write_hparams",
]
