"""kerasext.distribute: strategy resolution, Vertex's CLUSTER_SPEC, batch and LR scaling.

No TPU, GPU or cluster here: the TPU and multi-worker paths are tested by their resolution
logic only; MirroredStrategy runs for real over two logical CPU devices in a subprocess.
"""

import json
import logging
import subprocess
import sys

import pytest
import tensorflow as tf

from kerasext import distribute
from kerasext.distribute import strategy as strategy_module

VERTEX_SPEC = {
    "cluster": {
        "workerpool0": ["host-0:2222"],
        "workerpool1": ["host-1:2222", "host-2:2222", "host-3:2222"],
    },
    "task": {"type": "workerpool1", "index": 2},
    "job": "{}",
}


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("TF_CONFIG", "CLUSTER_SPEC", "TPU_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(strategy_module, "_on_tpu_vm", lambda: False)
    return monkeypatch


def test_auto_on_a_plain_cpu_machine_is_default_and_says_why(clean_env, caplog):
    with caplog.at_level(logging.INFO, logger="kerasext"):
        strategy = distribute.get_strategy()
    assert strategy is tf.distribute.get_strategy()
    (line,) = [r.getMessage() for r in caplog.records]
    assert "_DefaultDistributionStrategy with 1 replica(s)" in line and "no multi-worker" in line


def test_vertex_cluster_spec_is_translated(clean_env):
    clean_env.setenv("CLUSTER_SPEC", json.dumps(VERTEX_SPEC))
    assert distribute.tf_config() == {
        "cluster": {"chief": ["host-0:2222"], "worker": ["host-1:2222", "host-2:2222", "host-3:2222"]},
        "task": {"type": "worker", "index": 2},
    }
    assert distribute.cluster_workers() == 4
    assert strategy_module._choose(None)[0] == "multi_worker"


def test_tf_config_wins_over_cluster_spec(clean_env):
    tf_config = {"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 0}}
    clean_env.setenv("TF_CONFIG", json.dumps(tf_config))
    clean_env.setenv("CLUSTER_SPEC", json.dumps(VERTEX_SPEC))
    assert distribute.tf_config() == tf_config
    assert distribute.cluster_workers() == 1
    assert strategy_module._choose(None)[0] == "default"  # one worker is no cluster


def test_tpu_is_chosen_first_when_named(clean_env):
    clean_env.setenv("CLUSTER_SPEC", json.dumps(VERTEX_SPEC))
    assert strategy_module._choose("my-tpu")[0] == "tpu"
    clean_env.setenv("TPU_NAME", "other-tpu")
    assert strategy_module._choose(None)[0] == "tpu"
    clean_env.setattr(strategy_module, "_on_tpu_vm", lambda: True)
    clean_env.delenv("TPU_NAME")
    assert strategy_module._choose(None)[0] == "tpu"


@pytest.mark.parametrize(
    "kind, message",
    [
        ("tpu", "kind='tpu' needs a TPU: pass `tpu` (--tpu NAME), set TPU_NAME, or run on a TPU VM"),
        ("multi_worker", "kind='multi_worker' needs TF_CONFIG (or Vertex AI's CLUSTER_SPEC)"),
        ("mirrored", "kind='mirrored' needs two or more GPUs (or logical CPU devices). Found 0 GPU(s) and 1"),
        ("gpu", "`kind` must be one of auto, tpu, mirrored, multi_worker, default. Received: kind='gpu'"),
    ],
)
def test_kinds_that_cannot_be_honoured(clean_env, kind, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        distribute.get_strategy(kind)


def test_malformed_cluster_spec(clean_env):
    clean_env.setenv("CLUSTER_SPEC", "{not json")
    with pytest.raises(ValueError, match=r"`CLUSTER_SPEC` is not valid JSON"):
        distribute.tf_config()


def test_mirrored_over_two_logical_cpus():
    code = (
        "import tensorflow as tf\n"
        "cpu = tf.config.list_physical_devices('CPU')[0]\n"
        "tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)\n"
        "from kerasext import distribute\n"
        "s = distribute.get_strategy('mirrored')\n"
        "print(type(s).__name__, s.num_replicas_in_sync, distribute.global_batch_size(32, s))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["MirroredStrategy", "2", "64"]


def test_batch_and_learning_rate_scaling():
    strategy = tf.distribute.get_strategy()
    assert distribute.global_batch_size(48, strategy) == 48
    assert distribute.scale_learning_rate(0.1, 256, 1024) == pytest.approx(0.4)
    assert distribute.scale_learning_rate(0.1, 256, 1024, rule="sqrt") == pytest.approx(0.2)
    with pytest.raises(ValueError, match="`rule` must be 'linear' or 'sqrt'. Received: rule='cubic'"):
        distribute.scale_learning_rate(0.1, 256, 1024, rule="cubic")
    with pytest.raises(ValueError, match="Received: learning_rate=0"):
        distribute.scale_learning_rate(0, 256, 1024)
    with pytest.raises(ValueError, match="`per_replica_batch_size` must be >= 1. Received: 0"):
        distribute.global_batch_size(0, strategy)
