"""Every recipe's command line: a bad flag is one line on stderr, exit code 2, nothing written."""

import importlib
import os
import pkgutil
import subprocess
import sys

import pytest

from kerasext import runner  # first: TensorFlow's quiet start
import recipes

# (recipe, flags, what the one line says); each recipe's own checks, then the shared flags'.
CASES = [
    ("augmentation", ["--augment", "blur"], "`--augment` takes"),
    ("augmentation", ["--cutout-size", "0"], "`--cutout-size` must be > 0"),
    ("baseline", ["--learning-rate", "0"], "`--learning-rate` must be > 0"),
    ("batch_norm", ["--learning-rates", "0.1,x"], "`--learning-rates` must be"),
    ("batch_norm", ["--target", "0"], "`--target` must be in (0, 1]"),
    ("batch_norm", ["--depth", "9"], "`--depth` must be <="),
    ("batch_norm", ["--eval-every", "0"], "argument --eval-every: must be an integer >= 1"),
    ("batch_norm", ["--eval-examples", "x"], "argument --eval-examples: must be an integer >= 1"),
    ("batch_norm", ["--depth", "4"], "`--depth` must be <= 3 conv blocks for 8x8 images"),
    ("batch_norm", ["--learning-rates", "0.1,-1"], "`--learning-rates` must be"),
    ("bias_variance", ["--noise", "-1"], "`--noise` must be >= 0"),
    ("bias_variance", ["--model", "polynomial", "--dataset", "cifar10"], "generates its own 1-D data"),
    ("bias_variance", ["--model", "cnn", "--widths", "8,4"], "`--widths` must be two or more increasing"),
    ("bias_variance", ["--model", "cnn", "--widths", "8"], "`--widths` must be two or more increasing"),
    ("compatibility", ["--techniques", "dropout"], "`--techniques` takes two or more"),
    ("compatibility", ["--techniques", "dropout,magic"], "`--techniques` takes two or more"),
    ("cross_validation", ["--folds", "1"], "`--folds` must be >= 2"),
    ("cross_validation", ["--folds", "500"], "`--folds` 500: `fold` must have 2 <= k <="),
    ("cross_validation", ["--holdout", "1"], "`--holdout` must be in (0, 1)"),
    ("cross_validation", ["--split", "0.6,0.2,0.2"], "`--split` is not used here"),
    ("cross_validation", ["--holdout", "0.999"], "`--holdout` 0.999: Cannot carve"),
    ("cross_validation", ["--learning-rate", "0"], "`--learning-rate` must be > 0"),
    ("initialization", ["--depth", "1"], "`--depth` must be >= 2"),
    ("initialization", ["--learning-rate", "0"], "`--learning-rate` must be > 0"),
    ("losses", ["--minority-classes", "a,b"], "`--minority-classes` must be"),
    ("losses", ["--minority-classes", "12"], "`--minority-classes` must lie in [0, 10)"),
    ("losses", ["--keep-fraction", "0"], "`--keep-fraction` must be in (0, 1]"),
    ("losses", ["--outlier-fraction", "0.5"], "`--outlier-fraction` must be in [0, 0.5). Received: 0.5"),
    ("losses", ["--focal-gamma", "-1"], "`--focal-gamma` must be >= 0. Received: -1"),
    ("losses", ["--regression-epochs", "0"], "argument --regression-epochs: must be an integer >= 1"),
    ("optimizers", ["--sgd-lr", "0"], "`--sgd-lr` must be > 0"),
    ("optimizers", ["--momentum", "1"], "`--momentum` must be in [0, 1)"),
    ("optimizers", ["--seeds", "x"], "argument --seeds: must be an integer >= 1. Received: 'x'"),
    ("regularization", ["--dropout", "1"], "`--dropout` must be in (0, 1)"),
    ("regularization", ["--l2", "0"], "`--l2` must be > 0"),
    ("super_convergence", ["--target", "1.5"], "`--target` must be in (0, 1]"),
    ("super_convergence", ["--finder-steps", "1"], "`--finder-steps` must be >= 2"),
    ("train", ["--augment", "cutout,blur"], "`--augment` takes"),
    ("train", ["--model", "vgg"], "`--model` must be one of"),
    ("train", ["--dropout", "1.5"], "`--dropout` must be in [0, 1)"),
    ("train", ["--learning-rate", "-1"], "`--learning-rate` must be > 0"),
    ("train", ["--optimizer", "lion"], "argument --optimizer: invalid choice"),
    ("train", ["--model", "MobileNetV3Small"], "needs RGB images of at least 32x32"),
    ("transfer_learning", ["--labels-per-class", "ten"], "`--labels-per-class` must be"),
    ("transfer_learning", ["--steps", "25"], "`--steps` must be a multiple of `--epochs`"),
    ("transfer_learning", ["--labels-per-class", "10,10"], "`--labels-per-class` must not repeat a budget"),
    ("transfer_learning", ["--base", "MobileNetV3Small", "--width", "8"], "`--width` applies to the cnn base only"),
    ("transfer_learning", ["--steps", "0"], "argument --steps: must be an integer >= 1. Received: 0"),
    ("transfer_learning", ["--steps", "2000000"], "argument --steps: must be an integer <= 1000000"),
    ("transfer_learning", ["--steps", "5", "--epochs", "10"], "Received: --steps 5 --epochs 10"),
    ("transfer_learning", ["--head-lr", "0"], "`--head-lr` must be > 0. Received: 0.0"),
    ("transfer_learning", ["--source-classes", "0,1", "--target-classes", "1,2"], "must be disjoint"),
    ("transfer_learning", ["--base", "MobileNetV3Small", "--weights", "none"], "needs RGB images of at least 32x32"),
    ("transfer_learning", ["--weights", "imagenet"], "`--weights imagenet` needs a keras.applications `--base`"),
]
# Recipes whose data all comes from the runner take `--fold I/K`; the others refuse it.
KFOLD = ("augmentation", "baseline", "batch_norm", "compatibility", "initialization", "optimizers",
         "regularization", "super_convergence", "train")
RECIPES = sorted(m.name for m in pkgutil.iter_modules(recipes.__path__)
                 if not m.name.startswith("_") and m.name != "sweep")  # sweep: tests/test_sweep_errors.py
SHARED = [(name, ["--epochs", "0"], "argument --epochs: must be an integer >= 1") for name in RECIPES]
FOLDS = [(name, ["--fold", "2/5"] if name not in KFOLD else ["--fold", "6/5"],
          "unrecognized arguments: --fold" if name not in KFOLD else "argument --fold: needs K >= 2 and 1 <= I <= K")
         for name in RECIPES]
# Comparison recipes take `--seeds N` (issue 16's protocol); single-model recipes refuse it.
SINGLE = ("baseline", "train")
SEEDS = [(name, ["--seeds", "0"], "argument --seeds: must be an integer >= 1") if name not in SINGLE
         else (name, ["--seeds", "2"], "unrecognized arguments: --seeds") for name in RECIPES]


def test_every_recipe_has_its_own_cases():
    assert sorted({recipe for recipe, _, _ in CASES}) == RECIPES


@pytest.mark.parametrize("recipe, argv, message", CASES + SHARED + FOLDS + SEEDS,
                         ids=lambda value: " ".join(value) if isinstance(value, list) else None)
def test_bad_flags_exit_2_with_one_line(run_in, capsys, recipe, argv, message):
    module = importlib.import_module(f"recipes.{recipe}")
    with pytest.raises(SystemExit) as exit_info:
        runner.run_cli(module.main, argv + ["--model-dir", "bad"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2
    assert len(lines) == 1 and message in lines[0]
    assert not os.path.exists("bad")


def test_a_recipe_runs_as_a_script_from_anywhere(run_in):
    """`python recipes/<name>.py` (what users type): its imports, including `recipes._data`, resolve."""
    script = os.path.join(os.path.dirname(recipes.__file__), "losses.py")
    done = subprocess.run([sys.executable, script, "--keep-fraction", "0", "--model-dir", "bad"],
                          capture_output=True, text=True, timeout=300)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "`--keep-fraction` must be in (0, 1]" in lines[0]
    assert not os.path.exists("bad")
