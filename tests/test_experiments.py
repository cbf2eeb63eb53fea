"""Experiments as users run them: dvc exp run -S, exp show/apply, queued sweeps, Hydra multirun, remotes."""

import hashlib
import json
import shutil
import sys
import time

import pandas as pd
import pytest

from tests.conftest import copy_of, ran_stages, run_command

pytestmark = pytest.mark.slow


def exp_table(repo) -> pd.DataFrame:
    """`dvc exp show --csv`: one row per commit/experiment with params and metrics columns."""
    from io import StringIO

    output = run_command(["dvc", "exp", "show", "--csv"], cwd=repo).stdout
    return pd.read_csv(StringIO(output))


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_exp_run_with_a_config_group_option(repo):
    result = run_command(["dvc", "exp", "run", "-S", "model=bilstm"], cwd=repo)
    assert ran_stages(result.stdout) == ["train", "evaluate"]
    assert "cell: lstm" in (repo / "params.yaml").read_text()
    assert "lstm" in (repo / "models/bundle/model.json").read_text()


def test_exp_show_and_apply(serial_experiments, tmp_path):
    # after `dvc exp run -n units6 -S model.units=6` (conftest.serial_experiments), in a copy this test may change
    repo = copy_of(serial_experiments[6].repo, tmp_path / "repo")
    table = exp_table(repo)
    assert {"model.units", "test_cer", "dev_cer", "train.epochs"} <= set(table.columns)
    row = table[table["Experiment"] == "units6"]
    assert len(row) == 1 and int(row["model.units"].iloc[0]) == 6
    experiment_metrics = serial_experiments[6].metrics  # eval/metrics.json as the experiment left it
    run_command(["git", "checkout", "--", "."], cwd=repo)  # back to the baseline's workspace
    run_command(["dvc", "checkout", "-f"], cwd=repo)
    assert "units: 8" in (repo / "params.yaml").read_text()
    run_command(["dvc", "exp", "apply", "units6"], cwd=repo)
    assert "units: 6" in (repo / "params.yaml").read_text()
    assert (repo / "eval/metrics.json").read_text() == experiment_metrics


def wait_for_queue(repo, timeout=900) -> str:
    """Poll `dvc queue status` until nothing is queued or running; return its last output."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = run_command(["dvc", "queue", "status"], cwd=repo).stdout
        if "Queued" not in status and "Running" not in status:
            return status
        time.sleep(3)
    raise AssertionError(f"dvc queue still busy after {timeout} s:\n{status}")


def test_two_queue_workers_give_the_metrics_of_the_same_experiments_run_one_after_another(repo, serial_experiments):
    result = run_command(["dvc", "exp", "run", "--queue", "-S", "model.units=4,6"], cwd=repo)
    assert result.stdout.count("Queued experiment") == 2
    run_command(["dvc", "queue", "start", "-j", "2"], cwd=repo)
    status = wait_for_queue(repo)  # two workers, each in its own temporary workspace
    assert status.count("Success") == 2, status
    table = exp_table(repo)
    experiments = table[table["Experiment"].notna() & (table["rev"] != "workspace")]
    parallel = experiments.set_index(experiments["model.units"].astype(int))[["dev_cer", "test_cer"]]
    assert sorted(parallel.index) == [4, 6]
    # The same experiments by `dvc exp run`, each alone in its own copy of the baseline (conftest.serial_experiments):
    # that copy's run cache has only the baseline's runs, so they really trained and evaluated.
    for units in (4, 6):
        assert ran_stages(serial_experiments[units].stdout) == ["train", "evaluate"]
        serial = json.loads(serial_experiments[units].metrics)
        assert [serial["dev_cer"], serial["test_cer"]] == pytest.approx(list(parallel.loc[units]), abs=1e-6)


def test_hydra_multirun_trains_and_evaluates_each_job_in_its_own_directory(basic_sweep):
    # `python -m stages.train -m model.units=4,6` in a copy of the baseline (conftest.basic_sweep)
    sweep = basic_sweep.directory
    for job in ("0", "1"):
        assert (sweep / job / "bundle" / "model.keras").is_file()
        metrics = json.loads((sweep / job / "eval" / "metrics.json").read_text())
        assert "test_cer" in metrics
    summary = pd.read_csv(sweep / "summary.csv")
    assert sorted(summary["overrides"]) == ["model.units=4", "model.units=6"]
    assert summary["dev_cer"].is_monotonic_increasing  # best first
    assert {"dev_cer", "test_cer", "train_minutes"} <= set(summary.columns)
    assert "sweep summary (2 jobs, best first)" in basic_sweep.stdout
    assert basic_sweep.after == basic_sweep.before  # the workspace's DVC outputs are untouched
    assert basic_sweep.left_in_workspace == []  # no outputs/ or .hydra/


def test_bad_overrides_fail_before_any_work(repo):
    for override, message in [("model.unitz=3", "unitz"), ("model=nope", "nope")]:
        result = run_command(["dvc", "exp", "run", "-S", override], cwd=repo, check=False)
        assert result.returncode != 0 and message in result.stderr + result.stdout
        assert ran_stages(result.stdout) == []
    result = run_command(["dvc", "exp", "run", "-S", "model.units=0"], cwd=repo, check=False)
    assert result.returncode != 0
    assert "model.units must be > 0, got 0" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_push_delete_pull_round_trip(repo, tmp_path):
    remote = tmp_path / "remote"
    run_command(["dvc", "remote", "add", "-d", "local", str(remote)], cwd=repo)
    run_command(["dvc", "push"], cwd=repo)
    shutil.rmtree(repo / ".dvc" / "cache")
    for output in ("data", "models/bundle"):
        shutil.rmtree(repo / output)
    assert "deleted" in run_command(["dvc", "status"], cwd=repo).stdout
    run_command(["dvc", "pull"], cwd=repo)
    assert "Data and pipelines are up to date" in run_command(["dvc", "status"], cwd=repo).stdout
    assert (repo / "models/bundle/model.keras").is_file()


def test_optuna_sweep_minimises_dev_cer(repo):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason='needs pip install -e ".[sweep]"')
    result = run_command([sys.executable, "-m", "stages.train", "-m", "hydra/sweeper=asr_optuna",
                          "hydra.sweeper.n_trials=2", "model.units=choice(4,6)", "model.layers=1",
                          "hydra.sweep.dir=multirun/optuna"], cwd=repo)
    summary = pd.read_csv(repo / "multirun/optuna/summary.csv")
    assert len(summary) == 2 and summary["dev_cer"].is_monotonic_increasing
    results = (repo / "multirun/optuna/optimization_results.yaml").read_text()
    assert f"best_value: {summary['dev_cer'].iloc[0]}" in results
    assert "sweep summary (2 jobs, best first)" in result.stdout


def test_multirun_of_a_data_stage_writes_only_into_its_job_directories(repo):
    before = digest(repo / "data/prepared/train.csv")
    run_command([sys.executable, "-m", "stages.prepare", "-m", "data.seed=1,2", "data.num_utterances=20",
                 "hydra.sweep.dir=multirun/data"], cwd=repo)
    seeds = [pd.read_csv(repo / f"multirun/data/{job}/prepared/train.csv")["text"].tolist() for job in ("0", "1")]
    assert seeds[0] and seeds[1] and seeds[0] != seeds[1]  # two different corpora, one per job
    assert digest(repo / "data/prepared/train.csv") == before
