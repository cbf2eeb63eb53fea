"""Which tf.distribute strategy trains the model: one device (default), several GPUs (mirrored), several machines (multi_worker)."""

import json
import os
import socket

import tensorflow as tf

from asr.errors import UserError

STRATEGIES = ("default", "mirrored", "multi_worker")
TF_CONFIG_HELP = "see README, 'Several GPUs or machines (tf.distribute)'"


def read_tf_config(text: str | None) -> dict:
    """TF_CONFIG as TensorFlow documents it, checked: {"cluster": {job: [host:port, ...]}, "task": {"type", "index"}}."""
    if not text or not text.strip():
        raise UserError(f"TF_CONFIG is not set: train.strategy=multi_worker needs it ({TF_CONFIG_HELP})")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"TF_CONFIG is not JSON: {exc}") from None
    if not isinstance(config, dict):
        raise UserError(f"TF_CONFIG must be a JSON object with cluster and task, got {type(config).__name__}")
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not cluster or not all(isinstance(a, list) and a for a in cluster.values()):
        raise UserError(f"TF_CONFIG has no cluster: expected e.g. {{\"worker\": [\"host1:12345\", \"host2:12345\"]}}, "
                        f"got {cluster!r}")
    if not isinstance(task, dict) or task.get("type") not in cluster or not isinstance(task.get("index"), int):
        raise UserError(f"TF_CONFIG has no valid task: expected {{\"type\": one of {sorted(cluster)}, \"index\": n}}, "
                        f"got {task!r}")
    if not 0 <= task["index"] < len(cluster[task["type"]]):
        raise UserError(f"TF_CONFIG task index {task['index']} is outside the {len(cluster[task['type']])} "
                        f"{task['type']} address(es) of its cluster")
    return config


def is_chief(tf_config: dict) -> bool:
    """The one process that writes outputs: task type chief, or worker 0 when the cluster has no chief."""
    task = tf_config["task"]
    no_chief = "chief" not in tf_config["cluster"]
    return task["type"] == "chief" or (no_chief and task["type"] == "worker" and task["index"] == 0)


def make_strategy(name: str, environ=os.environ):
    """The strategy for train.strategy `name`, or None for `default` (today's single-device loop, unchanged).

    Create it before any other TensorFlow work: MultiWorkerMirroredStrategy must start its
    collective runtime before the first op runs.
    """
    if name == "default":
        return None
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()  # every local GPU, or the CPU when there is none
    if name == "multi_worker":
        read_tf_config(environ.get("TF_CONFIG"))  # TensorFlow itself reads it; we only refuse a bad one clearly
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise UserError(f"train.strategy has an invalid value: {name!r} (one of {', '.join(STRATEGIES)})")


def writes_outputs(name: str, environ=os.environ) -> bool:
    """Whether this process writes the checkpoint, dvclive logs and bundle (only the chief does in multi_worker)."""
    return name != "multi_worker" or is_chief(read_tf_config(environ.get("TF_CONFIG")))


def describe_devices(name: str, strategy) -> str:
    """One line: the strategy, its replicas and the devices TensorFlow sees."""
    gpus = tf.config.list_physical_devices("GPU")
    devices = ", ".join(d.name.replace("/physical_device:", "") for d in gpus) or "CPU only (no GPU visible)"
    replicas = 1 if strategy is None else strategy.num_replicas_in_sync
    return f"train: strategy {name}, {replicas} replica(s) in sync; devices: {devices}"


def agree_mean(strategy, value: float) -> float:
    """The mean of `value` over every replica: workers that must take the same decision (time budget) agree on it."""
    if strategy is None:
        return value

    @tf.function  # collectives run eagerly are slow, and TensorFlow warns about it
    def mean(value):
        return strategy.reduce(tf.distribute.ReduceOp.MEAN, strategy.run(lambda: value), axis=None)

    return float(mean(tf.constant(value, tf.float32)))


def local_tf_configs(workers: int) -> list[str]:
    """TF_CONFIG for each of `workers` processes of a cluster on this machine, on ports the OS reports free."""
    sockets = [socket.socket() for _ in range(workers)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))  # port 0: the OS picks a free one
    addresses = [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]
    for s in sockets:
        s.close()
    return [json.dumps({"cluster": {"worker": addresses}, "task": {"type": "worker", "index": i}})
            for i in range(workers)]
