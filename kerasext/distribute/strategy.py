"""One strategy factory for TPU, multi-GPU and multi-worker training.

`tf.distribute` has a strategy per topology and leaves the choosing to the user; Vertex AI
describes its cluster in `CLUSTER_SPEC` rather than the `TF_CONFIG` TensorFlow reads. This
picks the strategy the machine supports, translates Vertex's variable, and says in one line
what it chose and why.
"""

import json
import logging
import os
import threading

import tensorflow as tf

from kerasext.distribute.multi_worker import MultiWorkerMirroredStrategy

KINDS = ("auto", "tpu", "mirrored", "multi_worker", "default")
ROLES = ("chief", "worker")  # the tasks synchronous (multi-worker mirrored) training has
# Seconds TPU resolution, connection and initialization may take (env KERASEXT_TPU_TIMEOUT).
TPU_TIMEOUT = 300
logger = logging.getLogger("kerasext")


def get_strategy(kind="auto", tpu=None):
    """Returns a `tf.distribute.Strategy` for this machine.

    `"auto"` takes, in order: a TPU if one is named (`tpu`, or the `TPU_NAME` variable) or
    the machine is a TPU VM (`/dev/accel0` or `/dev/vfio/0` exists); else
    `MultiWorkerMirroredStrategy` when `TF_CONFIG` (or Vertex AI's `CLUSTER_SPEC`,
    translated) lists more than one worker; else `MirroredStrategy` with two or more GPUs;
    else the default strategy. It logs one line saying what it chose and why.

    Args:
        kind: one of `"auto"`, `"tpu"`, `"mirrored"`, `"multi_worker"`, `"default"`.
            Defaults to `"auto"`.
        tpu: a TPU name or address for `TPUClusterResolver`; `"local"` on a TPU VM.
            Defaults to `None` (`$TPU_NAME`, else local on a TPU VM). Reaching and
            initializing it may take `$KERASEXT_TPU_TIMEOUT` seconds (default 300).

    Returns:
        The strategy. Build and compile the model inside `strategy.scope()`.

    Raises:
        ValueError: for an unknown `kind`, or one this machine cannot honour (no TPU, no
            cluster description, fewer than two devices to mirror, a TPU that does not
            answer in time), saying what is missing; for a `TF_CONFIG` or `CLUSTER_SPEC`
            that does not describe this process (see `tf_config`).
    """
    if kind not in KINDS:
        raise ValueError(f"`kind` must be one of {', '.join(KINDS)}. Received: kind={kind!r}")
    tf_config()  # a stale or malformed cluster description fails here, in one line
    if kind == "auto":
        kind, why = _choose(tpu)
    else:
        why = "asked for"
    strategy = _BUILDERS[kind](tpu)
    logger.info(
        "kerasext: using %s with %d replica(s) (%s)",
        type(strategy).__name__, strategy.num_replicas_in_sync, why,
    )
    return strategy


def cluster_workers():
    """The number of workers `TF_CONFIG` (or `CLUSTER_SPEC`) describes; 0 when neither is set."""
    cluster = tf_config().get("cluster", {})
    return sum(len(cluster.get(role, [])) for role in ROLES)


def tf_config():
    """`TF_CONFIG` as a dict, translating Vertex AI's `CLUSTER_SPEC` when only that is set.

    Vertex names its pools `workerpool0` (the primary replica, which becomes TensorFlow's
    `chief`) and `workerpool1` (the other workers); pools 2 and 3 are parameter servers
    and evaluators, which synchronous training does not use.

    Raises:
        ValueError: naming the variable and the value received, when it is not JSON, or
            does not describe this process as a `chief` or `worker` of its cluster (a
            stale variable left from another job: an index past the cluster's end, an
            index that is not an integer, an evaluator or parameter-server task, hosts
            that are not a list of strings).
    """
    if os.environ.get("TF_CONFIG"):
        text = os.environ["TF_CONFIG"]
        return _check_config("TF_CONFIG", text, _parse_json("TF_CONFIG", text))
    if not os.environ.get("CLUSTER_SPEC"):
        return {}
    text = os.environ["CLUSTER_SPEC"]
    spec = _parse_json("CLUSTER_SPEC", text)
    _check_shape("CLUSTER_SPEC", text, spec)
    pools, task = spec.get("cluster", {}), spec.get("task", {})
    roles = {"workerpool0": "chief", "workerpool1": "worker"}
    cluster = {roles[p]: hosts for p, hosts in pools.items() if p in roles and hosts}
    config = {"cluster": cluster}
    if task:
        config["task"] = {"type": roles.get(task.get("type"), task.get("type")), "index": task.get("index", 0)}
    return _check_config("CLUSTER_SPEC", text, config)


def is_chief():
    """Whether this process writes a run's files: the `chief`, else worker 0, else alone."""
    config = tf_config()
    task, cluster = config.get("task", {}), config.get("cluster", {})
    if not task:
        return True
    if task["type"] == "chief":
        return True
    return task["type"] == "worker" and task["index"] == 0 and "chief" not in cluster


def global_batch_size(per_replica_batch_size, strategy):
    """Per-replica batch size times the replicas in sync: what `tf.data` should batch by."""
    if per_replica_batch_size < 1:
        raise ValueError(
            f"`per_replica_batch_size` must be >= 1. Received: {per_replica_batch_size}"
        )
    return per_replica_batch_size * strategy.num_replicas_in_sync


def scale_learning_rate(learning_rate, base_batch_size, batch_size, rule="linear"):
    """Scales a learning rate tuned at `base_batch_size` to `batch_size`.

    `"linear"`: lr * batch_size / base_batch_size (Goyal et al. 2017, for SGD with warmup).
    `"sqrt"`: lr * sqrt(batch_size / base_batch_size) (Krizhevsky 2014; often better for Adam).

    References:
        - [Goyal et al., 2017](https://arxiv.org/abs/1706.02677)
        - [Krizhevsky, 2014](https://arxiv.org/abs/1404.5997)
    """
    if rule not in ("linear", "sqrt"):
        raise ValueError(f"`rule` must be 'linear' or 'sqrt'. Received: rule={rule!r}")
    if learning_rate <= 0 or base_batch_size < 1 or batch_size < 1:
        raise ValueError(
            "`learning_rate` must be > 0 and batch sizes >= 1. Received: "
            f"learning_rate={learning_rate}, base_batch_size={base_batch_size}, batch_size={batch_size}"
        )
    ratio = batch_size / base_batch_size
    return learning_rate * (ratio if rule == "linear" else ratio**0.5)


def _choose(tpu):
    if tpu or os.environ.get("TPU_NAME") or _on_tpu_vm():
        return "tpu", "a TPU is named or this is a TPU VM"
    workers = cluster_workers()
    if workers > 1:
        return "multi_worker", f"the cluster spec lists {workers} workers"
    gpus = len(tf.config.list_physical_devices("GPU"))
    if gpus > 1:
        return "mirrored", f"{gpus} GPUs found"
    return "default", f"{gpus} GPU(s), no TPU, no multi-worker cluster spec"


def _on_tpu_vm():
    return os.path.exists("/dev/accel0") or os.path.exists("/dev/vfio/0")


def _tpu(tpu):
    name = tpu or os.environ.get("TPU_NAME") or ("local" if _on_tpu_vm() else None)
    if name is None:
        raise ValueError(
            "kind='tpu' needs a TPU: pass `tpu` (--tpu NAME), set TPU_NAME, or run on a TPU VM"
        )
    timeout = _tpu_timeout()
    outcome = {}

    def connect():  # TensorFlow waits for an unreachable address for ever: a thread bounds it
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=name)
            if name != "local":
                tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
            outcome["resolver"] = resolver
        except (ValueError, RuntimeError, tf.errors.OpError) as error:
            outcome["error"] = (str(error).splitlines() or [type(error).__name__])[0][:160]

    thread = threading.Thread(target=connect, name="kerasext-tpu-connect", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise ValueError(
            f"Cannot reach TPU {name!r} (--tpu {name}): no answer within {timeout:g} s "
            "(KERASEXT_TPU_TIMEOUT); check the address or name and that the TPU is running"
        )
    if "error" in outcome:
        raise ValueError(f"Cannot reach TPU {name!r} (--tpu {name}): {outcome['error']}")
    return tf.distribute.TPUStrategy(outcome["resolver"])


def _tpu_timeout():
    text = os.environ.get("KERASEXT_TPU_TIMEOUT", "")
    try:
        timeout = float(text) if text else TPU_TIMEOUT
    except ValueError:
        timeout = float("nan")
    if not 0 < timeout < float("inf"):
        raise ValueError(f"`KERASEXT_TPU_TIMEOUT` must be a number of seconds > 0. Received: {text!r}")
    return timeout


def _mirrored(_):
    gpus = tf.config.list_logical_devices("GPU")
    cpus = tf.config.list_logical_devices("CPU")
    devices = gpus if len(gpus) > 1 else cpus if len(cpus) > 1 else None
    if devices is None:
        raise ValueError(
            f"kind='mirrored' needs two or more GPUs (or logical CPU devices). Found "
            f"{len(gpus)} GPU(s) and {len(cpus)} logical CPU(s)"
        )
    return tf.distribute.MirroredStrategy([d.name for d in devices])


def _multi_worker(_):
    config = tf_config()
    if cluster_workers() < 1:
        raise ValueError(
            "kind='multi_worker' needs TF_CONFIG (or Vertex AI's CLUSTER_SPEC) describing the "
            "cluster; neither is set"
        )
    if not os.environ.get("TF_CONFIG"):
        os.environ["TF_CONFIG"] = json.dumps(config)  # what TensorFlow's resolver reads
    return MultiWorkerMirroredStrategy()  # TensorFlow's, with `reduce` fixed for model.fit


def _default(_):
    return tf.distribute.get_strategy()


def _parse_json(name, text):
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"`{name}` is not valid JSON ({error}). Received: {name}={_shown(text)}") from None
    if not isinstance(value, dict):
        raise ValueError(f"`{name}` must be a JSON object. Received: {name}={_shown(text)}")
    return value


def _shown(text):
    text = " ".join(text.split())
    return repr(text if len(text) <= 200 else text[:200] + "...")


def _check_shape(name, text, config):
    """`cluster` maps roles to lists of "host:port" strings; `task` has a string type and an int index."""

    def refuse(what):
        raise ValueError(f"`{name}` {what}. Received: {name}={_shown(text)}")

    cluster, task = config.get("cluster", {}), config.get("task", {})
    if not isinstance(cluster, dict):
        refuse('must map "cluster" to an object of role -> list of "host:port"')
    for role, hosts in cluster.items():
        if not isinstance(hosts, list) or not all(isinstance(h, str) and h for h in hosts):
            refuse(f'must list cluster role {role!r} as a list of "host:port" strings')
    if not isinstance(task, dict):
        refuse('must map "task" to an object {"type": ..., "index": ...}')
    if task:
        if not isinstance(task.get("type"), str):
            refuse('needs a string task "type"')
        index = task.get("index", 0)
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            refuse("needs a task \"index\" that is an integer >= 0")


def _check_config(name, text, config):
    """The checked `TF_CONFIG`: this process is a chief or worker the cluster lists."""
    _check_shape(name, text, config)
    cluster, task = config.get("cluster", {}), config.get("task", {})

    def refuse(what):
        raise ValueError(f"`{name}` {what} (a stale variable from another job?). Received: {name}={_shown(text)}")

    if len(cluster.get("chief", [])) > 1:
        refuse("lists more than one chief")
    if not task:
        if sum(len(cluster.get(role, [])) for role in ROLES) > 1:
            refuse("describes a cluster but no task for this process")
        return config
    kind, index = task["type"], task.get("index", 0)
    if kind not in ROLES:
        refuse(f"gives this process the task type {kind!r}; synchronous training runs only {' and '.join(ROLES)} tasks")
    if index >= len(cluster.get(kind, [])):
        refuse(f"makes this process {kind} {index}, but the cluster lists {len(cluster.get(kind, []))} {kind}(s)")
    return {**config, "task": {**task, "index": index}}


_BUILDERS = {
    "tpu": _tpu,
    "mirrored": _mirrored,
    "multi_worker": _multi_worker,
    "default": _default,
}
