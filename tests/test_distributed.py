"""train.strategy=multi_worker: two real worker processes on 127.0.0.1 train like one device with the same global batch."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from asr.errors import UserError
from asr.model.distribute import is_chief, local_tf_configs, read_tf_config
from tests.conftest import REPO, TINY
from tests.test_training import h5_arrays

# SGD without effective clipping: the update is lr x the gradient, so a worker that trained on the whole
# batch instead of its half, or a gradient summed twice, moves the weights by a whole update (~1e-2)
# and fails. (Adam divides the scale away, and a clipped norm hides it.) No dropout: its masks are
# drawn per replica slice, not over the whole batch as on one device.
SETTINGS = ["model.dropout=0.0", "train.optimizer=sgd", "train.learning_rate=0.05", "train.clipnorm=1000"]


def train_command(cfg, out, *extra):
    paths = [f"paths.{k}={cfg.paths[k]}" for k in ("features", "labels")]
    paths += [f"paths.{k}={out / k}" for k in ("model", "checkpoint", "live")]
    return [sys.executable, "-m", "stages.train", *TINY, *SETTINGS, *paths, *extra]


def run_together(commands, envs, timeout=900) -> list[str]:
    """Start every command, wait for all; on a failure or a timeout kill them all (a lone worker would wait forever)."""
    processes = [subprocess.Popen(c, cwd=REPO, env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for c, e in zip(commands, envs)]
    try:
        outputs = [p.communicate(timeout=timeout)[0] for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, output in zip(processes, outputs):
        assert p.returncode == 0, output
    return outputs


def digest(output: str) -> str:
    return re.search(r"final weights digest (\w+)", output).group(1)


@pytest.mark.slow
def test_two_workers_end_identical_and_equal_to_one_device_with_the_same_global_batch(tiny_data, tmp_path):
    cfg, _ = tiny_data
    envs = [dict(os.environ, TF_CONFIG=tf_config) for tf_config in local_tf_configs(2)]
    single_env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    outputs = run_together(
        [train_command(cfg, tmp_path / f"worker{i}", "train.strategy=multi_worker") for i in range(2)]
        + [train_command(cfg, tmp_path / "single")], envs + [single_env])

    assert "strategy multi_worker, 2 replica(s) in sync" in outputs[0]
    # Bit-identical copies: the gradients are all-reduced, so every worker applies the same update.
    assert digest(outputs[0]) == digest(outputs[1])
    # Only the chief (worker 0) writes; worker 1 stands for another machine and leaves nothing.
    assert (tmp_path / "worker0" / "model" / "model.keras").is_file()
    assert not (tmp_path / "worker1").exists()
    # Tolerance: the replicas sum the gradient of each half batch, one device sums the whole batch at once;
    # float32 sums in another order. Measured after one epoch (5 SGD steps, weights up to 1.5): max
    # absolute difference 6.9e-7. 1e-5 leaves a 15x margin and stays far below one update (~1e-2).
    multi = h5_arrays(tmp_path / "worker0" / "checkpoint" / "last.weights.h5")
    single = h5_arrays(tmp_path / "single" / "checkpoint" / "last.weights.h5")
    assert multi.keys() == single.keys() and multi
    for key in multi:
        np.testing.assert_allclose(multi[key], single[key], rtol=1e-5, atol=1e-5, err_msg=key)


@pytest.mark.parametrize("text, reason", [
    (None, "TF_CONFIG is not set"),
    ("{cluster: 1", "TF_CONFIG is not JSON"),
    ('{"task": {"type": "worker", "index": 0}}', "TF_CONFIG has no cluster"),
    ('{"cluster": {"worker": ["a:1"]}}', "TF_CONFIG has no valid task"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}}', "task index 1 is outside"),
])
def test_a_bad_tf_config_is_refused_with_the_reason(text, reason):
    with pytest.raises(UserError, match=reason):
        read_tf_config(text)


def test_the_chief_is_the_chief_task_or_else_worker_0():
    workers = {"worker": ["a:1", "b:1"]}
    assert is_chief({"cluster": workers, "task": {"type": "worker", "index": 0}})
    assert not is_chief({"cluster": workers, "task": {"type": "worker", "index": 1}})
    with_chief = {**workers, "chief": ["c:1"]}
    assert is_chief({"cluster": with_chief, "task": {"type": "chief", "index": 0}})
    assert not is_chief({"cluster": with_chief, "task": {"type": "worker", "index": 0}})


@pytest.mark.slow  # imports TensorFlow in a fresh process
def test_multi_worker_with_a_bad_tf_config_stops_with_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"} | {"TF_CONFIG": "not json"}
    result = subprocess.run([sys.executable, "-m", "stages.train", "train.strategy=multi_worker"], cwd=tmp_path,
                            env=env | {"PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: TF_CONFIG is not JSON")
    assert "Traceback" not in result.stderr
