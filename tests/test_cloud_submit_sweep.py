"""`python -m cloud.submit_sweep`: the dry-run HyperparameterTuningJob against a golden file, bad input."""

import json
import os
import sys

import pytest

types = pytest.importorskip(
    "google.cloud.aiplatform_v1.types",
    reason="google-cloud-aiplatform is not installed (the cloud extra: pip install -e '.[cloud]')",
)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # `cloud` is run from the repository root, not installed
from cloud import submit_sweep  # noqa: E402

GOLDEN = os.path.join(ROOT, "tests", "golden", "cloud", "hp_tuning.json")
SPACE = {
    "learning-rate": {"double": [1e-4, 0.1], "scale": "log"},
    "depth": {"integer": [1, 4]},
    "batch-size": {"discrete": [32, 64, 128]},
    "optimizer": {"categorical": ["adam", "nesterov"]},
}
COMMON = ["--project", "my-project", "--bucket", "gs://my-bucket", "--job-name", "kerasext-sweep", "--dry-run"]


@pytest.fixture
def space(tmp_path):
    def write(content=SPACE):
        path = tmp_path / "space.json"
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        return str(path)

    return write


def test_dry_run_matches_golden_and_parses_back(space, capsys):
    argv = ["train", "--epochs", "20", "--search-space", space(), "--max-trials", "20",
            "--parallel-trials", "4", "--goal", "maximize", *COMMON]
    assert submit_sweep.main(argv) == 0
    printed = capsys.readouterr().out
    if os.environ.get("KERASEXT_UPDATE_GOLDEN"):
        with open(GOLDEN, "w") as file:
            file.write(printed)
    with open(GOLDEN) as file:
        assert json.loads(printed) == json.load(file), f"differs from {GOLDEN}"

    job = types.HyperparameterTuningJob.from_json(printed)
    assert (job.max_trial_count, job.parallel_trial_count) == (20, 4)
    assert [(m.metric_id, m.goal.name) for m in job.study_spec.metrics] == [("val_accuracy", "MAXIMIZE")]
    params = {p.parameter_id: p for p in job.study_spec.parameters}
    assert list(params) == list(SPACE)
    assert params["learning-rate"].scale_type.name == "UNIT_LOG_SCALE"
    assert (params["depth"].integer_value_spec.min_value, params["depth"].integer_value_spec.max_value) == (1, 4)
    assert list(params["batch-size"].discrete_value_spec.values) == [32, 64, 128]
    assert list(params["optimizer"].categorical_value_spec.values) == ["adam", "nesterov"]
    (pool,) = job.trial_job_spec.worker_pool_specs
    assert list(pool.container_spec.args) == ["train", "--epochs", "20"]
    assert [(e.name, e.value) for e in pool.container_spec.env] == [("KERASEXT_HP_METRIC", "val_accuracy")]
    assert job.trial_job_spec.base_output_directory.output_uri_prefix == "gs://my-bucket/kerasext/train/kerasext-sweep"


@pytest.mark.parametrize("content, extra, message", [
    (None, ["--epochs", "5"], "--search-space is required"),
    ("{not json", [], "cannot read"),
    ({}, [], "non-empty JSON object"),
    ({"lr": {"double": [0.1, 0.01]}}, [], "min < max"),
    ({"lr": {"double": [0.1, 1], "integer": [1, 2]}}, [], "exactly one of"),
    ({"lr": {"double": [0.01, 0.1], "scale": "cubic"}}, [], "scale must be one of"),
    ({"batch-size": {"discrete": ["a"]}}, [], "discrete values must be numbers"),
    ({"epochs": {"integer": [1, 5]}}, ["--epochs", "3"], "both fixed and searched: --epochs"),
    # the same checks as a local sweep (kerasext.tuning): the recipe's own flags and values
    ({"lr": {"double": [1e-4, 0.1]}}, [], "'lr' names no flag of the recipe"),
    ({"dropout": {"double": [0.5, 1.5]}}, [], "dropout=1.5: `--dropout` must be in [0, 1)"),
    ({"lr": {"double": [0, 0.1], "scale": "log"}}, [], "a log scale needs min > 0"),
    (SPACE, ["--parallel-trials", "5", "--max-trials", "4"], "--parallel-trials <= --max-trials"),
])
def test_bad_input_is_one_line_exit_2(space, content, extra, message, capsys):
    flags = [] if content is None else ["--search-space", space(content)]
    with pytest.raises(SystemExit) as exit_:
        submit_sweep.main(["train", *extra, *flags, *COMMON])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("python -m cloud.submit_sweep: error: ")
    assert message in err
