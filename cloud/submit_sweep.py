"""Submit a hyperparameter sweep of a recipe to Vertex AI (a `HyperparameterTuningJob`).

Every trial is the custom job `python -m cloud.submit` would build, with the trial's values
appended to the recipe flags as `--NAME=VALUE`; the entrypoint reports the metric to Vertex
through `cloudml-hypertune` once the recipe has written metrics.json. `--dry-run` prints the job.

Run:

    python -m cloud.submit_sweep train --epochs 20 --search-space space.json --metric val_accuracy \\
        --max-trials 20 --parallel-trials 4 --project P --region us-central1 --bucket gs://B --dry-run

The search-space file is the one `recipes/sweep.py --space` reads (JSON, recipe flag names
without `--`; format and checks in `kerasext.tuning.space`), so a space tried locally is
submitted unchanged:

    {"learning-rate": {"double": [1e-4, 0.1], "scale": "log"},
     "depth": {"integer": [1, 4]},
     "batch-size": {"discrete": [32, 64, 128]},
     "optimizer": {"categorical": ["adam", "nesterov"]}}

Every dimension must name a flag of the recipe and every value must be one the recipe accepts
(checked here with the recipe's own parser, as a local sweep checks it).

`--metric` is a key of metrics.json's `final_epoch` (`val_accuracy`, `val_loss`, ...) or
`test_<name>` for its `test` results.
"""

import sys

from cloud import submit
from cloud._cli import load_recipe

SCALES = {"linear": "UNIT_LINEAR_SCALE", "log": "UNIT_LOG_SCALE", "reverse_log": "UNIT_REVERSE_LOG_SCALE"}
ALGORITHMS = {"bayesian": "ALGORITHM_UNSPECIFIED", "random": "RANDOM_SEARCH", "grid": "GRID_SEARCH"}
METRIC_ENV = "KERASEXT_HP_METRIC"  # read by the runner: kerasext.runner.report_metric


def build_parser():
    parser = submit.build_parser(prog="python -m cloud.submit_sweep")
    sweep = parser.add_argument_group("sweep")
    sweep.add_argument("--search-space", help="JSON file: recipe flag -> range (required)")
    sweep.add_argument("--metric", default="val_accuracy", help="metric to optimize (default val_accuracy)")
    sweep.add_argument("--goal", choices=("maximize", "minimize"), default="maximize")
    sweep.add_argument("--max-trials", type=int, default=10)
    sweep.add_argument("--parallel-trials", type=int, default=2)
    sweep.add_argument("--max-failed-trials", type=int, default=0, help="0: Vertex's default")
    sweep.add_argument("--algorithm", choices=tuple(ALGORITHMS), default="bayesian")
    return parser


def parse_args(argv=None, parser=None):
    args = submit.parse_args(argv, parser or build_parser())
    if not args.search_space:
        raise ValueError("--search-space is required (a JSON file of recipe flag ranges)")
    args.space = read_space(args.search_space)
    fixed = {flag.split("=", 1)[0] for flag in args.recipe_flags}
    both = sorted(f"--{name}" for name in args.space if f"--{name}" in fixed)
    if both:
        raise ValueError(f"flags both fixed and searched: {', '.join(both)}")
    check_against_recipe(args.recipe, args.space, args.recipe_flags)
    if not 1 <= args.parallel_trials <= args.max_trials:
        raise ValueError(
            "needs 1 <= --parallel-trials <= --max-trials. Received: "
            f"--parallel-trials {args.parallel_trials} --max-trials {args.max_trials}"
        )
    if args.max_failed_trials < 0:
        raise ValueError(f"--max-failed-trials must be >= 0. Received: {args.max_failed_trials}")
    if not args.metric.replace("_", "").isalnum():
        raise ValueError(f"--metric must be a metrics.json key like val_accuracy. Received: {args.metric!r}")
    return args


def read_space(path):
    """Reads and checks the search-space file (`kerasext.tuning.read_space`); returns `{flag name: spec}`."""
    from kerasext.tuning import space

    return space.read_space(path, flag="--search-space")


def check_against_recipe(recipe, space, recipe_flags):
    """Every dimension names a recipe flag, and the recipe accepts each value (as `recipes/sweep.py` checks)."""
    from kerasext.tuning import RecipeHyperModel

    RecipeHyperModel(load_recipe(recipe), space, fixed=recipe_flags)


def parameter_spec(name, spec):
    from google.cloud.aiplatform_v1.types import StudySpec
    from kerasext.tuning.space import KINDS

    P = StudySpec.ParameterSpec
    kind = next(k for k in KINDS if k in spec)
    values = spec[kind]
    fields = {"parameter_id": name}
    if kind == "double":
        fields["double_value_spec"] = P.DoubleValueSpec(min_value=values[0], max_value=values[1])
    elif kind == "integer":
        fields["integer_value_spec"] = P.IntegerValueSpec(min_value=values[0], max_value=values[1])
    elif kind == "discrete":
        fields["discrete_value_spec"] = P.DiscreteValueSpec(values=sorted(float(v) for v in values))
    else:
        fields["categorical_value_spec"] = P.CategoricalValueSpec(values=[str(v) for v in values])
    if kind != "categorical":
        fields["scale_type"] = SCALES[spec.get("scale", "linear")]
    return P(**fields)


def build_job(args):
    """The `aiplatform_v1.types.HyperparameterTuningJob` for parsed `args`."""
    from google.cloud.aiplatform_v1 import types

    trial = submit.build_job(args).job_spec
    for pool in trial.worker_pool_specs:
        pool.container_spec.env.append(types.EnvVar(name=METRIC_ENV, value=args.metric))
    study = types.StudySpec(
        metrics=[types.StudySpec.MetricSpec(metric_id=args.metric, goal=args.goal.upper())],
        parameters=[parameter_spec(name, spec) for name, spec in args.space.items()],
        algorithm=ALGORITHMS[args.algorithm],
    )
    return types.HyperparameterTuningJob(
        display_name=args.job_name, study_spec=study, trial_job_spec=trial,
        max_trial_count=args.max_trials, parallel_trial_count=args.parallel_trials,
        max_failed_trial_count=args.max_failed_trials,
    )


def main(argv=None):
    parser = build_parser()
    try:
        args = parse_args(argv, parser)
    except ValueError as error:
        parser.error(error)
    return submit.print_or_submit(
        parser, args, build_job(args),
        lambda client, parent, job: client.create_hyperparameter_tuning_job(
            parent=parent, hyperparameter_tuning_job=job),
    )


if __name__ == "__main__":
    sys.exit(main())
