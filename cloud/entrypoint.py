"""The container's entrypoint: runs a recipe by name, as `python recipes/RECIPE.py FLAGS` would.

    python cloud/entrypoint.py RECIPE [recipe flags]

Vertex AI starts every replica with the job's args (`[RECIPE, *flags]`) and the variables the
runner reads: `AIP_MODEL_DIR` (the run's folder), `AIP_CHECKPOINT_DIR` (backups, so a
preempted job resumes), `AIP_TENSORBOARD_LOG_DIR` and `CLUSTER_SPEC` (the workers). The recipe
runs in this process, with `sys.argv` as if it had been started directly, so its exit code
(0, or 2 for bad input) is the container's.

In a Vertex hyperparameter tuning trial (`python -m cloud.submit_sweep`), `KERASEXT_HP_METRIC`
names the metric; the recipe's runner reports it with `cloudml-hypertune` once metrics.json is
written (`final_epoch`, or `test` for `test_<name>`; `kerasext.runner.report_metric`, chief only).
"""

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
        check_recipe(argv[0])
    except ValueError as error:
        sys.stderr.write(f"entrypoint: error: {error}\n")
        return 2
    sys.argv = [argv[0], *argv[1:]]  # run_module sets sys.argv[0] to the recipe's file
    runpy.run_module(f"recipes.{argv[0]}", run_name="__main__", alter_sys=True)  # its sys.exit(code) passes through
    return 0


if __name__ == "__main__":
    sys.exit(main())
