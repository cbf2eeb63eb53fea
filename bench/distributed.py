"""Multi-worker training throughput: one epoch on a slice of the training split, 1 process against 2 workers on 127.0.0.1.

Each configuration is a real `python -m stages.train` (two for the workers, with TF_CONFIG); the rate is
the chief's dvclive train/frames_per_second of the epoch (global frames / training seconds, first-step
tracing included). On a machine with two cores, two workers share them: no speed-up is to be expected
here; the row measures what the synchronisation costs.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from omegaconf import OmegaConf

from asr.csvio import read_text_table
from asr.model.distribute import local_tf_configs

REPO = Path(__file__).resolve().parent.parent


def slice_labels(labels_dir, destination: Path, utterances: int) -> Path:
    """A labels directory holding the first `utterances` training rows and a few dev rows (features are shared)."""
    destination.mkdir(parents=True)
    (destination / "vocab.json").write_bytes(Path(labels_dir, "vocab.json").read_bytes())
    for split, rows in (("train", utterances), ("dev", max(4, utterances // 10))):
        read_text_table(Path(labels_dir, f"{split}.csv")).head(rows).to_csv(destination / f"{split}.csv", index=False)
    return destination


def train_epoch(params_file: Path, workers: int, timeout: float) -> dict:
    """Run the params file's training with `workers` processes; the chief's epoch rate and the wall time."""
    command = [sys.executable, "-m", "stages.train", "--params", str(params_file)]
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    configs = [None] if workers == 1 else local_tf_configs(workers)
    params = OmegaConf.load(params_file)
    start = time.perf_counter()
    processes = [subprocess.Popen(command, cwd=REPO, env=env | ({"TF_CONFIG": c} if c else {}),
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for c in configs]
    try:
        outputs = [p.communicate(timeout=timeout)[0] for p in processes]
    finally:
        for p in processes:  # a lone worker would wait for its peer forever
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, output in zip(processes, outputs):
        if p.returncode != 0:
            raise RuntimeError(f"training with {workers} worker(s) failed:\n{output[-2000:]}")
    metrics = json.loads(Path(params.paths.live, "metrics.json").read_text())
    return dict(frames_per_second=metrics["train"]["frames_per_second"], epoch_seconds=metrics["epoch_seconds"],
                wall_seconds=round(time.perf_counter() - start, 1))


def bench_distributed(params, utterances: int, repeats: int, timeout: float = 1800) -> dict:
    """frames / s of one epoch of the project's model on `utterances` training utterances: 1 process vs 2 workers."""
    rates = {1: [], 2: []}
    runs = {}
    with tempfile.TemporaryDirectory(prefix="bench-distributed-") as tmp:
        tmp = Path(tmp)
        labels = slice_labels(params.paths.labels, tmp / "labels", utterances)
        shrunk = OmegaConf.create(OmegaConf.to_container(params))
        shrunk.train.epochs = 1
        shrunk.paths.labels = str(labels)
        for _ in range(repeats):
            for workers in (1, 2):  # in turns: a slow spell of the shared machine falls on both
                out = tmp / f"run_{workers}_{len(rates[workers])}"
                out.mkdir()
                for key in ("model", "checkpoint", "live"):
                    shrunk.paths[key] = str(out / key)
                shrunk.train.strategy = "default" if workers == 1 else "multi_worker"
                OmegaConf.save(shrunk, out / "params.yaml")
                runs[workers] = train_epoch(out / "params.yaml", workers, timeout)
                rates[workers].append(runs[workers]["frames_per_second"])
                print(f"  distributed training, {workers} worker(s): {rates[workers][-1]:.0f} frames/s, "
                      f"{runs[workers]['wall_seconds']} s wall", flush=True)
    return dict(unit="frames / s", utterances=utterances, repeats=repeats, cpus=os.cpu_count(),
                **{f"workers_{n}": dict(median=statistics.median(r), min=min(r), max=max(r), **runs[n])
                   for n, r in rates.items()})


def rows(results: dict):
    """The row of `python -m bench`'s table: 2 workers against 1 process, the same global batch."""
    yield ("training: 2 workers on 127.0.0.1 vs 1 process (one epoch)", results["workers_2"]["median"],
           results["workers_1"]["median"], results["unit"])


if __name__ == "__main__":  # python -m bench.distributed [utterances]: this row alone, on params.yaml's data
    found = bench_distributed(OmegaConf.load("params.yaml"), int(sys.argv[1]) if len(sys.argv) > 1 else 200, 1)
    print(json.dumps(found, indent=2))
