"""Issue 15, items 4 and 5: a stale or malformed cluster description, an unreachable TPU.

Each is one line naming the variable (or flag) and the value received, and exit 2 from a
recipe, before anything is written; none trains quietly as a non-chief that writes nothing.
"""

import json
import os
import subprocess
import sys
import time

import pytest
from conftest import ROOT, load_recipe

from kerasext import distribute, runner
from kerasext.distribute import strategy as strategy_module

STALE_TF_CONFIGS = {
    "one worker, index 1": {"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}},
    "index as a string": {"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": "0"}},
    "evaluator task": {"cluster": {"worker": ["a:1"], "evaluator": ["e:1"]}, "task": {"type": "evaluator", "index": 0}},
    "worker beside a one-chief cluster": {"cluster": {"chief": ["a:1"]}, "task": {"type": "worker", "index": 0}},
    "hosts as a string": {"cluster": {"worker": "host:2222"}, "task": {"type": "worker", "index": 0}},
    "cluster as a list": {"cluster": ["a:1", "b:1"], "task": {"type": "worker", "index": 0}},
    "task as a string": {"cluster": {"worker": ["a:1"]}, "task": "worker"},
    "negative index": {"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": -1}},
    "two chiefs": {"cluster": {"chief": ["a:1", "b:1"]}, "task": {"type": "chief", "index": 0}},
    "a cluster but no task": {"cluster": {"worker": ["a:1", "b:1"]}},
}
STALE_CLUSTER_SPECS = {
    "hosts as a string": {"cluster": {"workerpool0": "host-0:2222"}, "task": {"type": "workerpool0", "index": 0}},
    "evaluator pool": {"cluster": {"workerpool0": ["h:1"], "workerpool3": ["e:1"]},
                       "task": {"type": "workerpool3", "index": 0}},
    "index past the pool": {"cluster": {"workerpool0": ["h:1"], "workerpool1": ["w:1"]},
                            "task": {"type": "workerpool1", "index": 1}},
    "cluster as a string": {"cluster": "workerpool0", "task": {"type": "workerpool0", "index": 0}},
}


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("TF_CONFIG", "CLUSTER_SPEC", "TPU_NAME", "AIP_MODEL_DIR", "AIP_CHECKPOINT_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(strategy_module, "_on_tpu_vm", lambda: False)
    return monkeypatch


def check_refused(name, text):
    for call in (distribute.tf_config, distribute.is_chief, distribute.cluster_workers,
                 lambda: distribute.get_strategy("default")):
        with pytest.raises(ValueError) as error:
            call()
        message = str(error.value)
        assert f"`{name}`" in message and f"Received: {name}=" in message
        assert text[:40] in message and "\n" not in message


@pytest.mark.parametrize("case", sorted(STALE_TF_CONFIGS))
def test_stale_or_malformed_tf_config_is_refused(clean_env, case):
    text = json.dumps(STALE_TF_CONFIGS[case])
    clean_env.setenv("TF_CONFIG", text)
    check_refused("TF_CONFIG", text)


@pytest.mark.parametrize("case", sorted(STALE_CLUSTER_SPECS))
def test_stale_or_malformed_cluster_spec_is_refused(clean_env, case):
    text = json.dumps(STALE_CLUSTER_SPECS[case])
    clean_env.setenv("CLUSTER_SPEC", text)
    check_refused("CLUSTER_SPEC", text)


@pytest.mark.parametrize("config, chief, workers", [
    ({"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 1}}, False, 2),
    ({"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 0}}, True, 2),
    ({"cluster": {"chief": ["c:1"], "worker": ["a:1"]}, "task": {"type": "worker", "index": 0}}, False, 2),
    ({"cluster": {"chief": ["c:1"], "worker": ["a:1"]}, "task": {"type": "chief"}}, True, 2),
    ({"cluster": {"worker": ["a:1"]}}, True, 1),
    ({}, True, 0),
])
def test_valid_cluster_descriptions_still_pass(clean_env, config, chief, workers):
    clean_env.setenv("TF_CONFIG", json.dumps(config))
    assert distribute.is_chief() is chief
    assert distribute.cluster_workers() == workers


def test_recipe_with_stale_tf_config_exits_2_writing_nothing(clean_env, tmp_path, capsys):
    baseline = load_recipe("baseline")
    text = json.dumps(STALE_TF_CONFIGS["one worker, index 1"])
    clean_env.setenv("TF_CONFIG", text)
    run_dir = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_:
        runner.run_cli(baseline.main, ["--epochs", "1", "--model-dir", str(run_dir)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "TF_CONFIG" in err and "makes this process worker 1" in err
    assert not run_dir.exists()


def test_unreachable_tpu_is_one_line_within_the_timeout(tmp_path):
    """A closed local port: TensorFlow would wait for ever; KERASEXT_TPU_TIMEOUT bounds it."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG", "CLUSTER_SPEC", "TPU_NAME")}
    env["KERASEXT_TPU_TIMEOUT"] = "2"
    run_dir = tmp_path / "run"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, os.path.join(ROOT, "recipes", "baseline.py"), "--epochs", "1",
         "--strategy", "tpu", "--tpu", "grpc://127.0.0.1:1", "--model-dir", str(run_dir)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.count("\n") == 1, done.stderr[-2000:]
    assert "--tpu grpc://127.0.0.1:1" in done.stderr
    assert time.monotonic() - started < 120
    assert not run_dir.exists()


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon"])
def test_bad_tpu_timeout_is_refused(clean_env, value):
    clean_env.setenv("KERASEXT_TPU_TIMEOUT", value)
    with pytest.raises(ValueError, match=f"`KERASEXT_TPU_TIMEOUT` must be a number of seconds > 0. Received: '{value}'"):
        distribute.get_strategy("tpu", tpu="grpc://127.0.0.1:1")
