"""A worker killed by the operating system fails its stage with one clear line, never a hang.

Each stage runs in a subprocess (its real `stage_main`, its real pool) with one worker function swapped for
one that is SIGKILLed on a given input (tests/dying_workers.py); the subprocess timeout turns a hang into a failure.
"""

import subprocess
import sys

import pandas as pd
import pytest
from omegaconf import OmegaConf

from tests.conftest import REPO, compose
from tests.corpus_fixtures import tone, write_audio
from tests.dying_workers import DYING_FILE

pytestmark = pytest.mark.slow  # a stage in a subprocess: seconds

RUN_STAGE_WITH_A_DYING_WORKER = """
import sys
from asr.corpus import synthetic
from asr.features import extract
from stages import {stage} as stage
from stages.entry import stage_main
from tests import dying_workers

extract._features_for_file = dying_workers.features_or_die
synthetic._render_in_worker = dying_workers.render_or_die
sys.argv = ["{stage}", "--params", sys.argv[1]]
stage_main(stage.run)
"""


def run_stage_with_a_dying_worker(stage: str, cfg, tmp_path) -> subprocess.CompletedProcess:
    OmegaConf.save(cfg, tmp_path / "params.yaml")
    return subprocess.run([sys.executable, "-c", RUN_STAGE_WITH_A_DYING_WORKER.format(stage=stage),
                           str(tmp_path / "params.yaml")], cwd=REPO, capture_output=True, text=True, timeout=240)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_killed_feature_worker_fails_the_stage_with_one_line(tmp_path, workers):
    prepared = tmp_path / "prepared"
    names = ["a.wav", DYING_FILE, "b.wav"] + [f"c{k}.wav" for k in range(40)]  # more than one chunk of 16
    for k, name in enumerate(names):
        write_audio(prepared / name, tone(16000, 8000, 200 + 10 * k), 16000)
    for split, chosen in (("train", names), ("dev", names[:1]), ("test", names[2:3])):
        pd.DataFrame(dict(id=[n[:-4] for n in chosen], path=chosen, text="x", duration=0.5, speaker="s",
                          engine="e", split=split)).to_csv(prepared / f"{split}.csv", index=False)
    cfg = compose([f"features.workers={workers}"], tmp_path)
    cfg.paths.prepared = str(prepared)
    result = run_stage_with_a_dying_worker("features", cfg, tmp_path)
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: a feature worker process died") and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "data" / "features").exists()  # nothing half-written


def test_a_killed_synthesis_worker_fails_the_stage_with_one_line(tmp_path):
    cfg = compose(["data.num_utterances=12", "data.workers=2", "data.sentences=words", "data.engines=[espeak]",
                   "data.heldout_engine=null", "data.augment_splits=[]", "data.dev_fraction=0.1",
                   "data.test_fraction=0.1"], tmp_path)
    result = run_stage_with_a_dying_worker("prepare", cfg, tmp_path)
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: a synthesis worker process died") and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "data" / "prepared").exists()


ORPHANED_POOL = """
import sys, time
from multiprocessing import get_context
from asr.workers import worker_pool

with worker_pool(2, get_context("spawn")) as pool:
    pids = [pool.submit(__import__("os").getpid).result() for _ in range(8)]
    print(" ".join(str(p) for p in sorted(set(pids))), flush=True)
    time.sleep(600)  # killed here, as `kill` or a closed terminal would
"""


def test_workers_of_a_killed_stage_exit_instead_of_waiting_for_work(tmp_path):
    import os
    import signal
    import time

    stage = subprocess.Popen([sys.executable, "-c", ORPHANED_POOL], cwd=REPO, stdout=subprocess.PIPE, text=True)
    workers = [int(pid) for pid in stage.stdout.readline().split()]
    assert workers and stage.pid not in workers
    stage.send_signal(signal.SIGKILL)  # no finally, no pool shutdown: only the workers can notice
    stage.wait(timeout=10)

    def alive(pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return not open(f"/proc/{pid}/stat").read().split()[2] == "Z"  # a zombie has exited

    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(pid) for pid in workers), "a worker outlived its stage"
