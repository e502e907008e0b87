"""kerasext.runner.report_metric (also kerasext.tuning.report_metric): a recipe reports its final metric to Vertex AI tuning (cloudml-hypertune)."""

import json
import sys

import keras
import pytest
from conftest import load_recipe

from kerasext import runner, tuning

pytest.importorskip("hypertune", reason="cloudml-hypertune is not installed (the cloud extra)")
train = load_recipe("train")
METRICS = {"final_epoch": {"val_accuracy": 0.75, "loss": 0.5}, "test": {"accuracy": 0.7}, "epochs_run": 3}


@pytest.fixture
def vertex(tmp_path, monkeypatch):
    for name in (*runner.vertex.NAME_VARIABLES, runner.vertex.FILE_VARIABLE):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "hypertune" / "output.metrics"
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", str(path))
    return path


def test_a_recipe_run_reports_its_metric_to_the_metric_file(run_in, vertex, monkeypatch):
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_TAG", "val_accuracy")
    metrics = train.main(["--epochs", "1", "--model", "mlp", "--model-dir", "out"])
    keras.mixed_precision.set_global_policy("float32")
    (line,) = vertex.read_text().splitlines()
    reported = json.loads(line)
    assert float(reported["val_accuracy"]) == pytest.approx(metrics["final_epoch"]["val_accuracy"])
    assert reported["global_step"] == "1"
    assert json.load(open("out/metrics.json"))["final_epoch"] == metrics["final_epoch"]


@pytest.mark.parametrize("variable, name, value", [
    ("KERASEXT_HP_METRIC", "val_accuracy", 0.75),
    ("CLOUD_ML_HP_METRIC_TAG", "test_accuracy", 0.7),
])
def test_either_variable_names_the_metric(vertex, monkeypatch, variable, name, value):
    monkeypatch.setenv(variable, name)
    assert runner.report_metric(METRICS) == value
    reported = json.loads(vertex.read_text())
    assert float(reported[name]) == value and reported["global_step"] == "3"


def test_tuning_exports_the_runners_report():
    assert tuning.report_metric is runner.report_metric and tuning.metric_value is runner.metric_value


def test_no_name_reports_nothing(vertex, caplog):
    assert runner.report_metric(METRICS) is None  # the file variable alone: a warning, no report
    assert not vertex.exists()


def test_unknown_metric_and_missing_package_are_one_line_errors(vertex, monkeypatch):
    monkeypatch.setenv("KERASEXT_HP_METRIC", "val_f1")
    with pytest.raises(ValueError, match="the run has no metric 'val_f1'; it has: val_accuracy, loss, test_accuracy"):
        runner.report_metric(METRICS)
    monkeypatch.setitem(sys.modules, "hypertune", None)  # as if cloudml-hypertune were not installed
    with pytest.raises(ValueError, match="cloudml-hypertune is not installed"):
        runner.report_metric(METRICS)
    assert not vertex.exists()
