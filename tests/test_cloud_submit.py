"""`python -m cloud.submit`: the dry-run job per shape against a golden file, bad input, credentials.

The golden files hold the JSON `--dry-run` prints; after a deliberate change, rewrite them with
`KERASEXT_UPDATE_GOLDEN=1 pytest tests/test_cloud_submit.py` and review the diff.
"""

import json
import os
import subprocess
import sys

import pytest

types = pytest.importorskip(
    "google.cloud.aiplatform_v1.types",
    reason="google-cloud-aiplatform is not installed (the cloud extra: pip install -e '.[cloud]')",
)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # `cloud` is run from the repository root, not installed
from cloud import submit  # noqa: E402
GOLDEN = os.path.join(ROOT, "tests", "golden", "cloud")
COMMON = ["--project", "my-project", "--region", "us-central1", "--bucket", "gs://my-bucket",
          "--job-name", "kerasext-demo", "--dry-run"]
OUTPUT = "gs://my-bucket/kerasext/{recipe}/kerasext-demo"
# shape -> (recipe and its flags, cloud flags, expected (machine type, accelerator, count,
# topology) and replica counts per pool, image name)
SHAPES = {
    "cpu": (["baseline", "--epochs", "5"], [],
            ("n1-standard-8", "ACCELERATOR_TYPE_UNSPECIFIED", 0, ""), [1], "train"),
    "gpu": (["train", "--model", "resnet", "--augment", "flip,cutout"], ["--accelerator", "NVIDIA_TESLA_T4:1"],
            ("n1-standard-8", "NVIDIA_TESLA_T4", 1, ""), [1], "train-gpu"),
    "multi_worker": (["train", "--batch-size", "256"], ["--workers", "4", "--machine-type", "n1-standard-16"],
                     ("n1-standard-16", "ACCELERATOR_TYPE_UNSPECIFIED", 0, ""), [1, 3], "train"),
    "tpu": (["baseline", "--epochs", "5"], ["--tpu", "v5litepod-8"],
            ("ct5lp-hightpu-8t", "ACCELERATOR_TYPE_UNSPECIFIED", 0, "2x4"), [1], "train-tpu"),
}


def dry_run(argv, capsys):
    assert submit.main(argv) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_dry_run_matches_golden_and_parses_back(shape, capsys):
    recipe_argv, cloud_flags, machine, replicas, image = SHAPES[shape]
    printed = dry_run([*recipe_argv, *COMMON, *cloud_flags], capsys)

    path = os.path.join(GOLDEN, f"{shape}.json")
    if os.environ.get("KERASEXT_UPDATE_GOLDEN"):
        with open(path, "w") as file:
            file.write(printed)
    with open(path) as file:
        assert json.loads(printed) == json.load(file), f"differs from {path}"

    job = types.CustomJob.from_json(printed)  # the SDK's own type reads it back
    assert job.display_name == "kerasext-demo"
    assert job.job_spec.base_output_directory.output_uri_prefix == OUTPUT.format(recipe=recipe_argv[0])
    pools = job.job_spec.worker_pool_specs
    assert [p.replica_count for p in pools] == replicas
    for pool in pools:
        spec = pool.machine_spec
        assert (spec.machine_type, spec.accelerator_type.name, spec.accelerator_count, spec.tpu_topology) == machine
        assert pool.container_spec.image_uri == f"us-central1-docker.pkg.dev/my-project/kerasext/{image}:latest"
        assert list(pool.container_spec.args) == recipe_argv


def test_image_flag_and_default_job_name(capsys):
    printed = dry_run(["baseline", "--project", "p", "--bucket", "gs://b/", "--image", "gcr.io/p/x:1", "--dry-run"], capsys)
    job = types.CustomJob.from_json(printed)
    assert job.job_spec.worker_pool_specs[0].container_spec.image_uri == "gcr.io/p/x:1"
    assert job.display_name.startswith("kerasext-baseline-")
    assert job.job_spec.base_output_directory.output_uri_prefix == f"gs://b/kerasext/baseline/{job.display_name}"


@pytest.mark.parametrize("argv, message", [
    (["baseline", "--project", "p", "--bucket", "gs://b", "--accelerator", "NVIDIA_TESLA_Z9:1"],
     "--accelerator type must be an AcceleratorType GPU name"),
    (["baseline", "--project", "p", "--bucket", "gs://b", "--accelerator", "NVIDIA_TESLA_T4:0"],
     "--accelerator count must be >= 1. Received: 'NVIDIA_TESLA_T4:0'"),
    (["baseline", "--project", "p", "--bucket", "gs://b", "--accelerator", "NVIDIA_TESLA_T4:x"],
     "--accelerator count must be an integer >= 1"),
    (["baseline", "--project", "p", "--bucket", "gs://b", "--tpu", "v5litepod-8", "--workers", "2"],
     "--workers must be 1"),
    (["baseline", "--project", "p", "--bucket", "gs://b", "--tpu", "v9-8"], "--tpu must be one of"),
    (["baseline", "--project", "p", "--bucket", "gs://b", "--tpu", "v3-8", "--accelerator", "NVIDIA_L4:1"],
     "cannot be combined"),
    (["baseline", "--project", "p", "--bucket", "my-bucket"], "must be a Cloud Storage URI starting with gs://"),
    (["baseline", "--bucket", "gs://b"], "--project is required"),
    (["nope", "--project", "p", "--bucket", "gs://b"], "unknown recipe (no recipes/nope.py)"),
    (["baseline", "--model-dir", "x", "--project", "p", "--bucket", "gs://b"], "--model-dir is set by this command"),
    (["baseline", "--project", "p", "--bucket", "gs://b", "--workers", "0"], "--workers must be >= 1"),
    (["baseline", "--project", "p", "--bucket", "gs://b", "--workers", "two"], "invalid int value"),
])
def test_bad_input_is_one_line_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        submit.main([*argv, "--dry-run"])
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("python -m cloud.submit: error: ")
    assert message in captured.err


def test_submit_without_credentials_is_one_line_exit_2(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "GOOGLE_APPLICATION_CREDENTIALS"}
    env.update(CLOUDSDK_CONFIG=str(tmp_path), HOME=str(tmp_path))  # no gcloud ADC file either
    done = subprocess.run(
        [sys.executable, "-m", "cloud.submit", "baseline", "--epochs", "5",
         "--project", "my-project", "--bucket", "gs://my-bucket"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr == f"python -m cloud.submit: error: {submit.CREDENTIALS_HELP}\n"
    assert "gcloud auth application-default login" in done.stderr
    assert "GOOGLE_APPLICATION_CREDENTIALS" in done.stderr
