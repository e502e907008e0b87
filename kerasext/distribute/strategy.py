"""One strategy factory for TPU, multi-GPU and multi-worker training.

`tf.distribute` has a strategy per topology and leaves the choosing to the user; Vertex AI
describes its cluster in `CLUSTER_SPEC` rather than the `TF_CONFIG` TensorFlow reads. This
picks the strategy the machine supports, translates Vertex's variable, and says in one line
what it chose and why.
"""

import json
import logging
import os

import tensorflow as tf

from kerasext.distribute.multi_worker import MultiWorkerMirroredStrategy

KINDS = ("auto", "tpu", "mirrored", "multi_worker", "default")
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
            Defaults to `None` (`$TPU_NAME`, else local on a TPU VM).

    Returns:
        The strategy. Build and compile the model inside `strategy.scope()`.

    Raises:
        ValueError: for an unknown `kind`, or one this machine cannot honour (no TPU, no
            cluster description, fewer than two devices to mirror), saying what is missing.
    """
    if kind not in KINDS:
        raise ValueError(f"`kind` must be one of {', '.join(KINDS)}. Received: kind={kind!r}")
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
    config = tf_config()
    if not config:
        return 0
    cluster = config.get("cluster", {})
    return sum(len(cluster.get(role, [])) for role in ("chief", "worker"))


def tf_config():
    """`TF_CONFIG` as a dict, translating Vertex AI's `CLUSTER_SPEC` when only that is set.

    Vertex names its pools `workerpool0` (the primary replica, which becomes TensorFlow's
    `chief`) and `workerpool1` (the other workers); pools 2 and 3 are parameter servers
    and evaluators, which synchronous training does not use.
    """
    if os.environ.get("TF_CONFIG"):
        return _parse_json("TF_CONFIG", os.environ["TF_CONFIG"])
    if not os.environ.get("CLUSTER_SPEC"):
        return {}
    spec = _parse_json("CLUSTER_SPEC", os.environ["CLUSTER_SPEC"])
    pools = spec.get("cluster", {})
    roles = {"workerpool0": "chief", "workerpool1": "worker"}
    cluster = {roles[p]: hosts for p, hosts in pools.items() if p in roles and hosts}
    task = spec.get("task", {})
    return {
        "cluster": cluster,
        "task": {"type": roles.get(task.get("type"), task.get("type")), "index": task.get("index", 0)},
    }


def is_chief():
    """Whether this process writes a run's files: the `chief`, else worker 0, else alone."""
    config = tf_config()
    task, cluster = config.get("task", {}), config.get("cluster", {})
    if not task:
        return True
    if task.get("type") == "chief":
        return True
    return task.get("type") == "worker" and task.get("index", 0) == 0 and "chief" not in cluster


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
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=name)
        if name != "local":
            tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as error:
        reason = (str(error).splitlines() or [type(error).__name__])[0][:160]
        raise ValueError(f"Cannot reach TPU {name!r}: {reason}") from None
    return tf.distribute.TPUStrategy(resolver)


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
        raise ValueError(f"`{name}` is not valid JSON ({error}). Received: {text[:80]!r}") from None
    if not isinstance(value, dict):
        raise ValueError(f"`{name}` must be a JSON object. Received: {text[:80]!r}")
    return value


_BUILDERS = {
    "tpu": _tpu,
    "mirrored": _mirrored,
    "multi_worker": _multi_worker,
    "default": _default,
}
