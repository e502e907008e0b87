"""Sweep: hyperparameter search over a recipe's flags with Keras Tuner (grid, random, Bayesian, Hyperband).

Every recipe flag can be a search dimension (`--space FILE`, the same JSON format as
`python -m cloud.submit_sweep`), and every trial is the recipe's real run, written into a
folder of the sweep. `--cv K` scores a trial by K-fold cross-validation (mean of the
folds; Keras Tuner cannot do this for Keras models, keras-tuner #139). `--workers N`
runs Keras Tuner's distributed mode on this machine: this process is the chief, N worker
processes run the trials. Flags this command does not know go to every trial unchanged.

Run (defaults: recipes/train.py on digits, its default search space, 10 random trials):

    python recipes/sweep.py --recipe train --tuner random --max-trials 10 --epochs 5
    python recipes/sweep.py --tuner bayesian --max-trials 8 --space space.json --cv 3 --model mlp
    python recipes/sweep.py --tuner hyperband --epochs 9 --max-trials 20 --workers 2

It writes into the sweep folder (`--model-dir`, default runs/sweep/<time>): sweep.json
(the sweep's settings), trials.csv (one row per trial), best.json (the best trial's flags:
`python recipes/train.py --config <folder>/best.json` replays it), sweep_trials.png,
hparams/ (TensorBoard HParams), Keras Tuner's oracle.json and trial_<id>/ folders holding
each trial's run(s). The same command resumes an interrupted sweep in the same folder;
`--overwrite` starts it again (a folder that holds no sweep is never removed).

A trial the recipe fails (it refuses its flags, raises, or its loss becomes NaN) is FAILED at
once, with its reason in trials.csv. A trial the infrastructure fails (its worker killed or
dead, a lost RPC, a sweep process that died while it ran) runs again, resumed from its
checkpoint, up to `--max-retries` more times (trials.csv's `retries` column counts them).
"""

import argparse
import contextlib
import importlib
import json
import os
import pkgutil
import shutil
import sys
import time

RECIPES = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(RECIPES))  # kerasext and recipes, when run from a clone without installing

from kerasext import runner  # noqa: E402  (first: starts TensorFlow without its C++ log lines)
from kerasext import tuning  # noqa: E402
from kerasext.runner.flags import (  # noqa: E402
    ArgumentParser, int_between, nonnegative_int, positive_int, seed)
from kerasext.tuning import distributed  # noqa: E402

SETTINGS = "sweep.json"
MAX_RETRIES = 100  # --max-retries at most
# What must match for a sweep folder to be resumed (max-trials and workers may change).
RESUMED_ON = ("recipe", "tuner", "objective", "direction", "cv", "seed", "epochs",
              "hyperband_factor", "space", "recipe_flags")


def build_parser():
    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                            allow_abbrev=False)  # a recipe flag must never be taken for a prefix of ours
    sweep = parser.add_argument_group("sweep")
    sweep.add_argument("--recipe", default="train", help="the recipe to tune (default train)")
    sweep.add_argument("--tuner", default="random", choices=tuning.TUNERS)
    sweep.add_argument("--max-trials", type=positive_int, default=10)
    sweep.add_argument("--objective", default="val_accuracy",
                       help="metrics.json's final_epoch key (val_accuracy, val_loss, ...) or test_<name>")
    sweep.add_argument("--direction", choices=("max", "min"), default=None,
                       help="default: min for a loss, else max")
    sweep.add_argument("--space", default=None, help="search-space JSON file (default: the recipe's)")
    sweep.add_argument("--cv", type=int, default=None, metavar="K",
                       help="K-fold cross-validation inside each trial (2 <= K <= smallest class)")
    sweep.add_argument("--hyperband-factor", type=int, default=3, help="Hyperband's reduction factor")
    sweep.add_argument("--max-retries", type=int_between(0, MAX_RETRIES), default=2,
                       help="more runs of a trial the infrastructure failed (its process killed or "
                       "dead, a lost RPC); a trial the recipe failed is not retried (default 2)")
    trials = parser.add_argument_group("trials (passed to every trial)")
    trials.add_argument("--epochs", type=positive_int, default=None,
                        help="epochs per trial (Hyperband: the most); default the recipe's")
    trials.add_argument("--seed", type=seed, default=0, help="the trials' seed, the folds' and the oracle's")
    output = parser.add_argument_group("output")
    output.add_argument("--model-dir", default=None, help="the sweep folder (default runs/sweep/<time>)")
    output.add_argument("--overwrite", action="store_true", help="start the sweep in --model-dir again")
    distribute = parser.add_argument_group("distributed (Keras Tuner's chief and workers)")
    distribute.add_argument("--workers", type=nonnegative_int, default=0,
                            help="worker processes on this machine; this process is the chief")
    distribute.add_argument("--max-restarts", type=nonnegative_int, default=2,
                            help="restarts of a worker that dies, each resuming its trial")
    distribute.add_argument("--timeout", type=float, default=0,
                            help="the chief stops the sweep after this many seconds (0: never)")
    distribute.add_argument("--rpc-timeout", type=positive_int, default=3600,
                            help="seconds a worker waits for the chief per call (Keras Tuner's default)")
    return parser


def load_recipe(name):
    """The module `recipes.<name>`, or a `ValueError` naming the recipes that can be swept."""
    known = sorted(m.name for m in pkgutil.iter_modules([RECIPES])
                   if not m.name.startswith("_") and m.name != "sweep")
    if name not in known:
        raise ValueError(f"`--recipe` must be one of {', '.join(known)}. Received: {name!r}")
    return importlib.import_module(f"recipes.{name}")


def main(argv=None):
    parser = build_parser()
    args, recipe_flags = parser.parse_known_args(argv)
    role = distributed.role()  # chief / worker when started by Keras Tuner's variables
    recipe = load_recipe(args.recipe)
    space = tuning.read_space(args.space) if args.space else tuning.default_space(recipe)
    if args.tuner == "hyperband" and "epochs" in space:
        raise ValueError("`--space` cannot search epochs with --tuner hyperband: Hyperband sets them")
    fixed = list(recipe_flags) + (["--epochs", str(args.epochs)] if args.epochs else []) + ["--seed", str(args.seed)]
    if args.cv is not None and args.cv < 2:
        raise ValueError(f"`--cv` must be >= 2. Received: --cv {args.cv}")
    if args.hyperband_factor < 2:
        raise ValueError(f"`--hyperband-factor` must be >= 2. Received: {args.hyperband_factor}")
    hypermodel = tuning.RecipeHyperModel(recipe, space, fixed, objective=args.objective, cv=args.cv,
                                         seed=args.seed)
    tuning.check_cv(args.cv, runner.parse_args(hypermodel.parser(), fixed))
    direction = args.direction or ("min" if args.objective.endswith(("loss", "error")) else "max")
    max_epochs = args.epochs or hypermodel.parser().get_default("epochs")
    settings = {
        "recipe": args.recipe, "tuner": args.tuner, "objective": args.objective, "direction": direction,
        "cv": args.cv, "seed": args.seed, "epochs": args.epochs, "hyperband_factor": args.hyperband_factor,
        "space": space, "recipe_flags": list(recipe_flags), "max_trials": args.max_trials,
        "max_retries": args.max_retries,
    }
    if role == "worker":
        if not args.model_dir:
            raise ValueError("a worker needs the chief's --model-dir")
        directory = os.path.abspath(args.model_dir)
    else:
        directory = sweep_folder(args, settings)

    def tuner():
        return tuning.make_tuner(args.tuner, hypermodel, directory, objective=args.objective,
                                 direction=direction, max_trials=args.max_trials, seed=args.seed,
                                 max_epochs=max_epochs, factor=args.hyperband_factor,
                                 max_retries=args.max_retries)

    if role == "worker":
        distributed.set_rpc_timeout(args.rpc_timeout)
        tuner().search()
        return None
    title = f"{args.tuner} sweep of recipes/{args.recipe}.py"
    results = tuning.SweepResults(directory, hypermodel, direction, title=title)
    sweep = None
    try:
        if args.workers:
            with chief_environment() as port:
                sweep = tuner()
                run_workers(args, recipe_flags, directory, sweep, results, port)
        elif role == "chief":
            sweep = tuner()
            tuning.serve(sweep, lambda: results.write(sweep.oracle, plot=False), timeout=args.timeout or None)
        else:
            sweep = tuner()
            sweep.on_trial_ended = lambda: results.write(sweep.oracle, plot=False)
            sweep.search()
    finally:
        if sweep is not None:  # stopped in order (done, Ctrl-C, an error): running trials go back uncounted
            tuning.failures.release(sweep.oracle)
        rows = results.write(sweep.oracle) if sweep is not None else []  # also when it stopped early
    return report(rows, results, directory, args.recipe)


def sweep_folder(args, settings):
    """Creates or resumes the sweep folder; refuses one holding other files or other settings."""
    directory = args.model_dir or os.path.join("runs", "sweep", time.strftime("%Y%m%d-%H%M%S"))
    directory = os.path.abspath(directory)
    saved_path = os.path.join(directory, SETTINGS)
    if os.path.isdir(directory) and os.listdir(directory):
        if not os.path.exists(saved_path):
            raise ValueError(f"`--model-dir` holds files that are not a sweep; pick another folder. "
                             f"Received: {directory}")
        if args.overwrite:
            shutil.rmtree(directory)
        else:
            with open(saved_path) as file:
                saved = json.load(file)
            now = json.loads(json.dumps(settings))
            changed = [k for k in RESUMED_ON if saved.get(k) != now.get(k)]
            if changed:
                details = ", ".join(f"{k}: {saved.get(k)!r} -> {now.get(k)!r}" for k in changed)
                raise ValueError(f"`--model-dir` {directory} holds a sweep with other settings ({details}); "
                                 f"resume it with the same ones, or give --overwrite")
            print(f"kerasext: resuming the sweep in {directory}", file=sys.stderr)
    os.makedirs(directory, exist_ok=True)
    with open(saved_path, "w") as file:
        json.dump(settings, file, indent=2)
        file.write("\n")
    return directory


@contextlib.contextmanager
def chief_environment():
    """Keras Tuner's variables for a chief on 127.0.0.1 at a free port, restored afterwards."""
    port = distributed.free_port()
    names = (distributed.ID, distributed.IP, distributed.PORT)
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(dict(zip(names, ("chief", distributed.HOST, str(port)))))
    try:
        yield port
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_workers(args, recipe_flags, directory, sweep, results, port):
    """Starts `--workers` processes and serves them the trials until the sweep is done."""
    command = [sys.executable, os.path.abspath(__file__), *worker_argv(args, recipe_flags, directory)]
    workers = distributed.Workers(command, args.workers, port, os.path.join(directory, "workers"),
                                  max_restarts=args.max_restarts)
    try:
        tuning.serve(sweep, lambda: results.write(sweep.oracle, plot=False), workers=workers,
                     timeout=args.timeout or None)
    finally:
        workers.stop()


def worker_argv(args, recipe_flags, directory):
    argv = ["--recipe", args.recipe, "--tuner", args.tuner, "--max-trials", str(args.max_trials),
            "--objective", args.objective, "--seed", str(args.seed), "--model-dir", directory,
            "--hyperband-factor", str(args.hyperband_factor), "--rpc-timeout", str(args.rpc_timeout)]
    for flag, value in (("--direction", args.direction), ("--cv", args.cv), ("--epochs", args.epochs),
                        ("--space", args.space and os.path.abspath(args.space))):
        if value is not None:
            argv += [flag, str(value)]
    return argv + list(recipe_flags)


def report(rows, results, directory, recipe):
    objective = results.hypermodel.objective
    done = sum(r["status"] == "COMPLETED" for r in rows)
    print(f"{done} of {len(rows)} trials completed")
    best = results.best(rows)
    if best is not None:
        print(f"best: {tuning.results.summary(best, results.hypermodel)}")
        print(f"replay: python recipes/{recipe}.py --config {os.path.join(directory, 'best.json')}")
    print(f"outputs: {directory}")
    return {"directory": directory, "rows": rows, "best": best, "objective": objective}


def cli(argv=None):
    try:
        return runner.run_cli(main, argv)
    except tuning.SweepError as error:
        sys.stderr.write(f"{os.path.basename(sys.argv[0] or 'sweep')}: error: {' '.join(str(error).split())}\n")
        sys.exit(1)


if __name__ == "__main__":
    cli()
