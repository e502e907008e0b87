"""Submit a hyperparameter sweep of a recipe to Vertex AI (a `HyperparameterTuningJob`).

Every trial is the custom job `python -m cloud.submit` would build, with the trial's values
appended to the recipe flags as `--NAME=VALUE`; the entrypoint reports the metric to Vertex
through `cloudml-hypertune` once the recipe has written metrics.json. `--dry-run` prints the job.

Run:

    python -m cloud.submit_sweep train --epochs 20 --search-space space.json --metric val_accuracy \\
        --max-trials 20 --parallel-trials 4 --project P --region us-central1 --bucket gs://B --dry-run

The search-space file (JSON; provisional until the local sweeps' format lands) maps recipe
flag names to one range each:

    {"learning-rate": {"double": [1e-4, 0.1], "scale": "log"},
     "depth": {"integer": [1, 4]},
     "batch-size": {"discrete": [32, 64, 128]},
     "optimizer": {"categorical": ["adam", "nesterov"]}}

`--metric` is a key of metrics.json's `final_epoch` (`val_accuracy`, `val_loss`, ...) or
`test_<name>` for its `test` results.
"""

import json
import sys

from cloud import submit

KINDS = ("double", "integer", "discrete", "categorical")
SCALES = {"linear": "UNIT_LINEAR_SCALE", "log": "UNIT_LOG_SCALE", "reverse_log": "UNIT_REVERSE_LOG_SCALE"}
ALGORITHMS = {"bayesian": "ALGORITHM_UNSPECIFIED", "random": "RANDOM_SEARCH", "grid": "GRID_SEARCH"}
METRIC_ENV = "KERASEXT_HP_METRIC"  # read by cloud/entrypoint.py


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
    """Reads and checks the search-space file; returns `{flag name: spec}`."""
    try:
        with open(path) as file:
            space = json.load(file)
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"--search-space: cannot read {path} as JSON: {error}") from None
    if not isinstance(space, dict) or not space:
        raise ValueError(f"--search-space {path} must hold a non-empty JSON object")
    for name, spec in space.items():
        where = f"--search-space {path}: {name!r}"
        if name.startswith("-") or not isinstance(spec, dict):
            raise ValueError(f"{where}: keys are recipe flags without '--', values objects")
        kinds = [k for k in KINDS if k in spec]
        unknown = sorted(set(spec) - set(KINDS) - {"scale"})
        if len(kinds) != 1 or unknown:
            raise ValueError(f"{where} needs exactly one of {', '.join(KINDS)} (and an optional scale). Received: {spec}")
        kind, values = kinds[0], spec[kinds[0]]
        if spec.get("scale", "linear") not in SCALES:
            raise ValueError(f"{where}: scale must be one of {', '.join(SCALES)}. Received: {spec['scale']!r}")
        if kind in ("double", "integer"):
            numbers = (float,) if kind == "double" else ()
            if (not isinstance(values, list) or len(values) != 2
                    or not all(isinstance(v, (int, *numbers)) and not isinstance(v, bool) for v in values)
                    or values[0] >= values[1]):
                raise ValueError(f"{where}: {kind} must be [min, max] with min < max. Received: {values!r}")
        elif not isinstance(values, list) or not values or len(set(map(str, values))) != len(values):
            raise ValueError(f"{where}: {kind} must be a list of distinct values. Received: {values!r}")
        elif kind == "discrete" and not all(isinstance(v, (int, float)) for v in values):
            raise ValueError(f"{where}: discrete values must be numbers (use categorical). Received: {values!r}")
    return space


def parameter_spec(name, spec):
    from google.cloud.aiplatform_v1.types import StudySpec

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
