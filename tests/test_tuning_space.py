"""kerasext.tuning: the search-space format and the HyperModel over a recipe's flags."""

import importlib
import json
import pkgutil

import keras_tuner
import numpy as np
import pytest

from kerasext import tuning
from kerasext.tuning.hypermodel import flag_args
import recipes
from recipes import train

# The recipes that declare a default search space (`SEARCH_SPACE` in their module).
SWEEPABLE = sorted(m.name for m in pkgutil.iter_modules(recipes.__path__)
                   if hasattr(importlib.import_module(f"recipes.{m.name}"), "SEARCH_SPACE"))


def test_train_and_baseline_declare_default_spaces():
    assert {"train", "baseline"} <= set(SWEEPABLE)


@pytest.mark.parametrize("recipe", SWEEPABLE)
def test_default_spaces_name_real_flags_with_accepted_values(recipe):
    module = importlib.import_module(f"recipes.{recipe}")
    model = tuning.RecipeHyperModel(module, tuning.default_space(module))
    hp = keras_tuner.HyperParameters()
    argv = model.build(hp)
    assert [p.name for p in hp.space] == list(module.SEARCH_SPACE)
    assert model.config(argv)["recipe"] == recipe
    assert tuning.default_space(module) is not module.SEARCH_SPACE  # a copy: a sweep may not change it


def test_each_kind_becomes_a_keras_tuner_hyperparameter_and_a_flag():
    space = {"learning-rate": {"double": [1e-4, 0.1], "scale": "log"}, "depth": {"integer": [1, 4]},
             "batch-size": {"discrete": [32, 64]}, "optimizer": {"categorical": ["adam", "nesterov"]},
             "batch-norm": {"categorical": [True, False]}}
    model = tuning.RecipeHyperModel(train, space, fixed=["--epochs", "2"])
    hp = keras_tuner.HyperParameters()
    model.build(hp)
    kinds = {p.name: type(p).__name__ for p in hp.space}
    assert kinds == {"learning-rate": "Float", "depth": "Int", "batch-size": "Choice", "optimizer": "Choice",
                     "batch-norm": "Choice"}
    assert hp.get("learning-rate") == 1e-4 and hp._hps["learning-rate"][0].sampling == "log"
    argv = model.argv({"learning-rate": 0.01, "depth": 3, "batch-size": 64, "optimizer": "nesterov",
                       "batch-norm": False, "tuner/epochs": 5})
    assert argv == ["--epochs", "2", "--learning-rate=0.01", "--depth=3", "--batch-size=64",
                    "--optimizer=nesterov", "--no-batch-norm", "--epochs=5"]
    config = model.config(argv)
    assert (config["learning_rate"], config["depth"], config["batch_norm"], config["epochs"]) == (0.01, 3, False, 5)


def test_store_true_flags_and_numpy_values():
    parser = train.build_parser()
    assert flag_args(parser, "dropout", np.float64(0.25)) == ["--dropout=0.25"]  # not np.float64(0.25)
    assert flag_args(parser, "depth", np.int64(3)) == ["--depth=3"]
    assert flag_args(parser, "deterministic", True) == ["--deterministic"]
    assert flag_args(parser, "deterministic", False) == []


def test_cloud_and_local_sweeps_read_one_format(tmp_path):
    path = tmp_path / "space.json"
    path.write_text(json.dumps({"dropout": {"double": [0.0, 0.5]}}))
    assert tuning.read_space(str(path)) == {"dropout": {"double": [0.0, 0.5]}}
    with pytest.raises(ValueError, match=r"--search-space .*'lr': a log scale needs min > 0"):
        tuning.read_space(_write(tmp_path, {"lr": {"double": [0, 1], "scale": "log"}}), flag="--search-space")
    with pytest.raises(ValueError, match="categorical values must share one type"):
        tuning.check_space({"x": {"categorical": [1, "a"]}})
    with pytest.raises(ValueError, match="has no default search space"):
        tuning.default_space(importlib.import_module("recipes.losses"))


def _write(tmp_path, content):
    path = tmp_path / "other.json"
    path.write_text(json.dumps(content))
    return str(path)


def test_seed_0_seeds_the_oracle(tmp_path):
    model = tuning.RecipeHyperModel(train, {"dropout": {"double": [0.0, 0.5]}})
    tuner = tuning.make_tuner("random", model, str(tmp_path / "s"), seed=0, max_trials=2)
    assert tuner.oracle.seed == 1  # Keras Tuner alone would draw a random one for 0
    assert tuner.oracle._random_values() == tuning.make_tuner(
        "random", model, str(tmp_path / "t"), seed=0, max_trials=2).oracle._random_values()
