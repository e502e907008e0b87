"""The container's entrypoint: runs a recipe by name, as `python recipes/RECIPE.py FLAGS` would.

    python cloud/entrypoint.py RECIPE [recipe flags]

Vertex AI starts every replica with the job's args (`[RECIPE, *flags]`) and the variables the
runner reads: `AIP_MODEL_DIR` (the run's folder), `AIP_CHECKPOINT_DIR` (backups, so a
preempted job resumes), `AIP_TENSORBOARD_LOG_DIR` and `CLUSTER_SPEC` (the workers). The recipe
runs in this process, with `sys.argv` as if it had been started directly, so its exit code
(0, or 2 for bad input) is the container's.

In a Vertex hyperparameter tuning trial (`python -m cloud.submit_sweep`), `KERASEXT_HP_METRIC`
names the metric; once the recipe has finished, it is read from `$AIP_MODEL_DIR/metrics.json`
(`final_epoch`, or `test` for `test_<name>`) and reported with `cloudml-hypertune`.
"""

import json
import os
import runpy
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from cloud._cli import check_recipe  # noqa: E402


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        sys.stderr.write(__doc__.split("\n\n")[1].strip() + "\n")
        return 0 if argv else 2
    try:
        path = check_recipe(argv[0])
    except ValueError as error:
        sys.stderr.write(f"entrypoint: error: {error}\n")
        return 2
    sys.argv = [path, *argv[1:]]
    sys.path[0] = os.path.dirname(path)  # as `python recipes/RECIPE.py` sets it
    runpy.run_path(path, run_name="__main__")  # a recipe's sys.exit(code) passes through
    if os.environ.get("KERASEXT_HP_METRIC"):
        return report_metric(os.environ["KERASEXT_HP_METRIC"])
    return 0


def report_metric(name):
    """Reports metric `name` of the finished run to Vertex's tuning service; returns the exit code."""
    import hypertune
    import tensorflow as tf
    from kerasext.distribute import is_chief

    if not is_chief():  # only the chief writes metrics.json, and one report per trial is enough
        return 0
    model_dir = os.environ.get("AIP_MODEL_DIR")
    if not model_dir:
        sys.stderr.write("entrypoint: error: KERASEXT_HP_METRIC is set but AIP_MODEL_DIR is not\n")
        return 1
    with tf.io.gfile.GFile(os.path.join(model_dir, "metrics.json")) as file:
        metrics = json.load(file)
    section, key = ("test", name[len("test_"):]) if name.startswith("test_") else ("final_epoch", name)
    value = (metrics.get(section) or {}).get(key)
    if value is None:
        sys.stderr.write(
            f"entrypoint: error: metric {name!r} is not in metrics.json; "
            f"{section} holds: {', '.join(metrics.get(section) or {})}\n"
        )
        return 1
    hypertune.HyperTune().report_hyperparameter_tuning_metric(
        hyperparameter_metric_tag=name, metric_value=value, global_step=metrics.get("epochs_run") or 0
    )
    print(f"reported {name}={value:.4f} to Vertex AI's tuning service")
    return 0


if __name__ == "__main__":
    sys.exit(main())
