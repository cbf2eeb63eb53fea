"""Hydra launchers (conf/hydra/launcher/): parallel sweeps give the same results as one job after another."""

import hashlib
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import run_command

pytestmark = pytest.mark.slow

SWEEP = ["model.units=4,6"]


def job_records(sweep_dir: Path) -> dict[str, dict]:
    """job.json of every job in a sweep, by its overrides."""
    records = [json.loads(p.read_text()) for p in sorted(sweep_dir.glob("*/job.json"))]
    return {record["overrides"]: record for record in records}


def results(records: dict[str, dict]) -> dict[str, tuple]:
    """What a job computed, without where it ran: deterministic training gives the same numbers anywhere."""
    return {overrides: (r["dev_cer"], r["test_cer"], r["test_wer"], r["best_epoch"]) for overrides, r in records.items()}


def only_sweep_dir(parent: Path) -> Path:
    """The one directory a sweep claimed under `parent` (conf/config.yaml's default ${sweep_dir:multirun})."""
    claimed = [p for p in parent.iterdir() if p.is_dir()]
    assert len(claimed) == 1, claimed  # every job of the sweep, in whichever process, found the same one
    return claimed[0]


def workspace_outputs(repo: Path) -> dict[str, str]:
    """Digest of every file of the workspace's train and evaluate outputs: a sweep job writes its own copies instead."""
    files = [p for folder in ("models/bundle", "models/checkpoint", "dvclive", "eval") for p in (repo / folder).rglob("*")]
    return {str(p.relative_to(repo)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.is_file()}


@pytest.fixture(scope="module")
def launcher_repo(basic_sweep):
    """The copy of the tiny baseline repository where the basic launcher's sweep ran, for this module's sweeps."""
    return basic_sweep.repo


@pytest.fixture(scope="module")
def basic_records(basic_sweep):
    """The sweep run by Hydra's basic launcher (`-m model.units=4,6`, conftest.basic_sweep): both jobs one after
    another in the sweep's own process."""
    records = job_records(basic_sweep.directory)
    assert len(records) == 2 and len({r["pid"] for r in records.values()}) == 1
    return records


def test_joblib_runs_jobs_in_two_worker_processes_with_the_basic_launchers_results(launcher_repo, basic_records):
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher", reason='needs pip install -e ".[sweep]"')
    before = workspace_outputs(launcher_repo)
    result = run_command([sys.executable, "-m", "stages.train", "-m", "hydra/launcher=asr_joblib", *SWEEP,
                          "hydra.sweep.dir=${sweep_dir:multirun/joblib}"], cwd=launcher_repo, timeout=600)
    sweep_dir = only_sweep_dir(launcher_repo / "multirun/joblib")
    records = job_records(sweep_dir)
    assert len({r["pid"] for r in records.values()}) == 2  # two loky workers, one job each
    assert results(records) == results(basic_records)
    for job in ("0", "1"):  # each worker wrote its own bundle, checkpoint, dvclive and eval
        assert {"bundle", "checkpoint", "dvclive", "eval", "job.json"} <= {p.name for p in (sweep_dir / job).iterdir()}
    assert len(pd.read_csv(sweep_dir / "summary.csv")) == 2
    assert result.stdout.count("train: best dev CER") == 2  # the workers' lines reach the sweep's stdout
    assert workspace_outputs(launcher_repo) == before


def test_submitit_local_runs_jobs_as_subprocesses_with_the_basic_launchers_results(launcher_repo, basic_records):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason='needs pip install -e ".[sweep]"')
    before = workspace_outputs(launcher_repo)
    run_command([sys.executable, "-m", "stages.train", "-m", "hydra/launcher=asr_submitit_local",
                 "hydra.launcher.timeout_min=8", *SWEEP, "hydra.sweep.dir=${sweep_dir:multirun/submitit}"],
                cwd=launcher_repo, timeout=600)
    sweep_dir = only_sweep_dir(launcher_repo / "multirun/submitit")
    records = job_records(sweep_dir)
    assert len({r["pid"] for r in records.values()}) == 2
    assert results(records) == results(basic_records)
    assert len(pd.read_csv(sweep_dir / "summary.csv")) == 2
    logs = sorted((sweep_dir / ".submitit").glob("*/*_log.out"))  # submitit keeps each job's stdout
    assert len(logs) == 2 and all("train: best dev CER" in log.read_text() for log in logs)
    assert workspace_outputs(launcher_repo) == before
