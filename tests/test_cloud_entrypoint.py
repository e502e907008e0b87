"""cloud/entrypoint.py, run as the container runs it, with Vertex AI's variables set to local folders."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENTRYPOINT = os.path.join(ROOT, "cloud", "entrypoint.py")
# The cloud extra's cloudml-hypertune: with it, the run also reports its metric as a tuning trial.
HYPERTUNE = importlib.util.find_spec("hypertune") is not None
ONE_WORKER = {"cluster": {"workerpool0": ["localhost:2222"]}, "task": {"type": "workerpool0", "index": 0}}


def entrypoint(args, cwd, **env):
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("AIP_") and k not in ("CLUSTER_SPEC", "TF_CONFIG", "TPU_NAME")}
    return subprocess.run(
        [sys.executable, ENTRYPOINT, *args], cwd=cwd, env={**base, **env},
        capture_output=True, text=True, timeout=180,
    )


def test_trains_a_recipe_into_vertex_folders(tmp_path):
    model, checkpoints, logs = (tmp_path / name for name in ("model", "checkpoints", "logs"))
    done = entrypoint(
        ["baseline", "--epochs", "1", "--checkpoint-every", "10"], cwd=tmp_path,
        AIP_MODEL_DIR=str(model), AIP_CHECKPOINT_DIR=str(checkpoints),
        AIP_TENSORBOARD_LOG_DIR=str(logs), CLUSTER_SPEC=json.dumps(ONE_WORKER),
        # as in a tuning trial: the metric goes to cloudml-hypertune's file
        **(dict(KERASEXT_HP_METRIC="val_accuracy", CLOUD_ML_HP_METRIC_FILE=str(tmp_path / "hp.metrics"))
           if HYPERTUNE else {}),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"outputs: {model}" in done.stdout
    assert "no multi-worker cluster spec" in done.stderr  # one worker: the default strategy
    assert {"model.keras", "metrics.json", "config.json", "history.csv"} <= set(os.listdir(model))
    metrics = json.loads((model / "metrics.json").read_text())
    assert metrics["recipe"] == "baseline" and metrics["epochs_run"] == 1
    assert any(name.startswith("ckpt-") for name in os.listdir(checkpoints))
    events = [f for _, _, files in os.walk(logs) for f in files if f.startswith("events.out.tfevents")]
    assert events
    assert not (tmp_path / "runs").exists()  # nothing outside the Vertex folders
    if not HYPERTUNE:
        return  # the metric report needs the cloud extra (cloudml-hypertune)
    reported = json.loads((tmp_path / "hp.metrics").read_text().splitlines()[-1])
    assert float(reported["val_accuracy"]) == pytest.approx(metrics["final_epoch"]["val_accuracy"])
    assert int(reported["global_step"]) == 1


def test_recipe_exit_code_passes_through(tmp_path):
    done = entrypoint(["baseline", "--epochs", "0"], cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].endswith("must be an integer >= 1. Received: 0")


@pytest.mark.parametrize("args, code, message", [
    (["nope"], 2, "unknown recipe (no recipes/nope.py)"),
    ([], 2, "python cloud/entrypoint.py RECIPE"),
])
def test_bad_recipe_name_is_one_line(tmp_path, args, code, message):
    done = entrypoint(args, cwd=tmp_path)
    assert done.returncode == code
    assert message in done.stderr and done.stderr.count("\n") == 1
