"""Hydra sweep directories: two sweeps started in the same second never share one (stages/entry.py's resolver)."""

import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path

from stages.entry import claim_sweep_dir
from tests.conftest import REPO

SAME_SECOND = datetime(2026, 11, 24, 1, 7, 7)

# A Hydra app over the real conf/ whose job only prints where Hydra put it.
PRINT_JOB_DIR = """
import hydra
from hydra.core.hydra_config import HydraConfig
from stages.entry import CONF_DIR

@hydra.main(config_path=CONF_DIR, config_name="config", version_base="1.3")
def job(cfg):
    print("job dir:", HydraConfig.get().runtime.output_dir)

job()
"""
# The line recommended for conf/config.yaml in place of multirun/${now:%Y-%m-%d_%H-%M-%S}.
SWEEP_DIR_LINE = "hydra.sweep.dir=${sweep_dir:multirun}"


def test_the_same_second_gives_numbered_directories(tmp_path):
    first, second, third = (claim_sweep_dir(str(tmp_path / "multirun"), SAME_SECOND) for _ in range(3))
    names = [Path(p).name for p in (first, second, third)]
    assert names == ["2026-11-24_01-07-07", "2026-11-24_01-07-07-2", "2026-11-24_01-07-07-3"]
    assert all(Path(p).is_dir() for p in (first, second, third))


def test_processes_claiming_at_once_each_get_their_own_directory(tmp_path):
    with ProcessPoolExecutor(4) as pool:
        claimed = list(pool.map(claim_sweep_dir, [str(tmp_path)] * 8, [SAME_SECOND] * 8))
    assert len(set(claimed)) == 8


def hydra_app(tmp_path, *args):
    return subprocess.Popen([sys.executable, "-c", PRINT_JOB_DIR, *args], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={"PYTHONPATH": str(REPO), "PATH": ""})


def test_two_real_sweeps_started_together_keep_apart_and_a_single_run_claims_nothing(tmp_path):
    sweeps = [hydra_app(tmp_path, "-m", "model.units=4,6", SWEEP_DIR_LINE) for _ in range(2)]
    job_dirs = []
    for sweep in sweeps:
        out, err = sweep.communicate(timeout=120)
        assert sweep.returncode == 0, err
        job_dirs.append([line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("job dir:")])
    assert [len(dirs) for dirs in job_dirs] == [2, 2]
    sweep_dirs = [{str(Path(d).parent) for d in dirs} for dirs in job_dirs]
    assert all(len(dirs) == 1 for dirs in sweep_dirs) and sweep_dirs[0] != sweep_dirs[1], job_dirs
    (tmp_path / "single").mkdir()
    single = hydra_app(tmp_path / "single", SWEEP_DIR_LINE)
    assert single.wait(timeout=120) == 0, single.stderr.read()
    assert list((tmp_path / "single").iterdir()) == []  # a single run resolves no sweep directory
