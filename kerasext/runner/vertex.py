"""A run's final metric, and its report to Vertex AI hyperparameter tuning (`cloudml-hypertune`).

In a Vertex AI tuning trial the recipe reports its metric itself: `Run.finish` calls
`report_metric` on the chief once metrics.json is written. The metric's name comes from
`KERASEXT_HP_METRIC` (set by `python -m cloud.submit_sweep`) or `CLOUD_ML_HP_METRIC_TAG`;
`cloudml-hypertune` writes it to `CLOUD_ML_HP_METRIC_FILE` (default
`/tmp/hypertune/output.metrics`), which Vertex reads.
"""

import logging
import os

from kerasext.runner.errors import UsageError

NAME_VARIABLES = ("KERASEXT_HP_METRIC", "CLOUD_ML_HP_METRIC_TAG")
FILE_VARIABLE = "CLOUD_ML_HP_METRIC_FILE"


def metric_value(metrics, name):
    """A metric of a run's metrics.json: `final_epoch[name]`, or `test[x]` for `name="test_x"`.

    Raises:
        UsageError: if the run has no such metric (the message lists those it has).
    """
    section, key = ("test", name[len("test_"):]) if name.startswith("test_") else ("final_epoch", name)
    value = (metrics.get(section) or {}).get(key)
    if value is None:
        known = [*(metrics.get("final_epoch") or {}), *(f"test_{k}" for k in metrics.get("test") or {})]
        raise UsageError(f"the run has no metric {name!r}; it has: {', '.join(known)}")
    return float(value)


def report_metric(metrics):
    """Reports the tuning metric of a finished run when a Vertex AI trial asks for one.

    Args:
        metrics: the run's metrics dict (as written to metrics.json).

    Returns:
        The value reported, or `None` when no metric name is set (not a tuning trial).

    Raises:
        UsageError: if a metric name is set but cloudml-hypertune is not installed, or the
            run has no such metric. The run's files are already written by then.
    """
    name = next((os.environ[v] for v in NAME_VARIABLES if os.environ.get(v)), None)
    if name is None:
        if os.environ.get(FILE_VARIABLE):
            logging.getLogger("kerasext").warning(
                "kerasext: %s is set but neither %s is: no metric reported",
                FILE_VARIABLE, " nor ".join(NAME_VARIABLES))
        return None
    try:
        import hypertune
    except ImportError:
        raise UsageError(
            f"{'/'.join(NAME_VARIABLES)} asks for a tuning report of {name!r}, but cloudml-hypertune "
            f"is not installed (pip install -e '.[cloud]'); the run's files are written"
        ) from None
    value = metric_value(metrics, name)
    hypertune.HyperTune().report_hyperparameter_tuning_metric(
        hyperparameter_metric_tag=name, metric_value=value, global_step=metrics.get("epochs_run") or 0)
    print(f"reported {name}={value:.4f} to Vertex AI's tuning service")
    return value
