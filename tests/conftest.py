"""Shared fixtures: the real Hydra config, shrunk, and a tiny corpus built once per session."""

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402

from stages.params import compose_params  # noqa: E402

REPO = Path(__file__).resolve().parent.parent

# A few dozen utterances, a handful of units, one epoch: seconds, not minutes.
TINY = [
    "data.num_utterances=48",
    "data.dev_voices=2",
    "data.test_voices=2",
    "data.dev_fraction=0.1",
    "data.test_fraction=0.1",
    "data.workers=1",
    "data.sentences=words",       # one to three frequent words: learnable by a tiny model
    "data.engines=[espeak,hibari]",
    "data.heldout_engine=hibari",
    "data.augment_splits=[]",
    "features.cepstral_mean=none",  # the overfitted test model's robustness to formats was tuned without it
    "lm.wordnet=false",           # the LM from the tiny training transcripts alone: seconds
    "lm.char_order=3",
    "train.spec_freq_masks=0",
    "train.spec_time_masks=0",
    "features.workers=1",
    "model.units=8",
    "model.layers=1",
    "train.epochs=1",
    "train.batch_size=8",
    "decode.num_posteriorgrams=2",
]


def compose(overrides=(), root: Path | None = None):
    """The real composed config with overrides; paths rebased under `root` if given."""
    cfg = OmegaConf.create(compose_params(list(overrides)))
    if root is not None:
        for key, value in cfg.paths.items():
            cfg.paths[key] = str(root / value)
    return cfg


def stage_params(stage: str) -> list[str]:
    """The `params:` keys dvc.yaml lists for a stage."""
    return OmegaConf.load(REPO / "dvc.yaml").stages[stage].params


def run_stage(module, cfg) -> None:
    """Run a stage on a config holding ONLY the keys dvc.yaml lists for it.

    The config is in struct mode, so a stage reading an unlisted key fails: this keeps
    dvc.yaml's params lists exact (what it reads is what DVC watches).
    """
    stage = module.__name__.rsplit(".", 1)[1]
    restricted = OmegaConf.create()
    for key in stage_params(stage):
        OmegaConf.update(restricted, key, OmegaConf.select(cfg, key), force_add=True)
    OmegaConf.set_struct(restricted, True)
    module.run(restricted)


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """prepare + features + labels on the tiny synthetic corpus; returns (config, root)."""
    from stages import features, labels, prepare

    root = tmp_path_factory.mktemp("tiny")
    cfg = compose(TINY, root)
    for stage in (prepare, features, labels):
        run_stage(stage, cfg)
    return cfg, root


def copy_repository(destination: Path, params_overrides=()) -> Path:
    """A fresh git repository holding the project's tracked files, with params.yaml shrunk."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, check=True,
                           capture_output=True, text=True).stdout.split()
    for name in files:
        source = REPO / name
        if source.is_file() and not name.startswith(("tests/", "dvclive/", "eval/")):
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    (destination / "dvc.lock").unlink(missing_ok=True)
    # Shrink conf/ itself (config.yaml's own values come after the groups' in the defaults list),
    # because `dvc exp run` recomposes params.yaml from conf/.
    config = destination / "conf" / "config.yaml"
    shrunk = OmegaConf.merge(OmegaConf.load(config), OmegaConf.from_dotlist(list(params_overrides)))
    config.write_text(OmegaConf.to_yaml(shrunk))
    with_conf = OmegaConf.create(run_command([sys.executable, "-c", _COMPOSE], cwd=destination).stdout)
    (destination / "params.yaml").write_text(OmegaConf.to_yaml(with_conf))
    for command in (["git", "init", "-q"], ["git", "config", "user.name", "test"],
                    ["git", "config", "user.email", "test@example.com"], ["git", "add", "-A"],
                    ["git", "commit", "-qm", "tiny copy"]):
        subprocess.run(command, cwd=destination, check=True, env=git_env())
    return destination


_COMPOSE = "from omegaconf import OmegaConf; from stages.params import compose_params; print(OmegaConf.to_yaml(compose_params()))"


def git_env():
    env = dict(os.environ)
    env.update(GIT_AUTHOR_NAME="test", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="test", GIT_COMMITTER_EMAIL="t@example.com")
    return env


def run_command(args, cwd, check=True, timeout=900):
    """Run a real command (dvc, python -m stages...) with this interpreter's bin dir on PATH."""
    env = git_env()
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def overfit_bundle(tiny_data, tmp_path_factory):
    """A model trained until it knows the tiny training split by heart: real text to compare."""
    from stages import train

    cfg, root = tiny_data
    cfg = cfg.copy()
    out = tmp_path_factory.mktemp("overfit")
    for key in ("model", "checkpoint", "live"):
        cfg.paths[key] = str(out / key)
    # input noise makes it robust to what 8-bit quantisation and resampling change
    cfg.model.units, cfg.model.dropout, cfg.model.input_noise = 48, 0.0, 0.2
    cfg.train.epochs, cfg.train.learning_rate, cfg.train.early_stopping_patience = 60, 0.01, 60
    cfg.train.keep = "last"  # known by heart: the dev voices' CER says nothing about that
    run_stage(train, cfg)
    return Path(cfg.paths.model), Path(cfg.paths.prepared)


def ran_stages(output: str) -> list[str]:
    """Stage names in the order `dvc repro` / `dvc exp run` printed "Running stage '...'"."""
    return [line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")]


@pytest.fixture(scope="session")
def baseline_repo(tmp_path_factory):
    """A tiny copy of the project after one `dvc repro`, committed with its dvc.lock."""
    path = copy_repository(tmp_path_factory.mktemp("baseline"), TINY)
    result = run_command(["dvc", "repro"], cwd=path)
    stages = ran_stages(result.stdout)  # DVC orders independent stages (lm, train) as it likes
    assert sorted(stages) == sorted(["prepare", "features", "labels", "lm", "train", "evaluate"])
    assert stages[:3] == ["prepare", "features", "labels"] and stages[-1] == "evaluate"
    run_command(["git", "add", "-A"], cwd=path)
    run_command(["git", "commit", "-qm", "baseline"], cwd=path)
    return path


def copy_of(repository: Path, destination: Path) -> Path:
    """A private copy of a repository: git history and experiments, DVC cache and outputs included."""
    shutil.copytree(repository, destination, symlinks=True)
    return destination


@pytest.fixture
def repo(baseline_repo, tmp_path):
    """A private copy of the baseline repository (git history, DVC cache and outputs included)."""
    return copy_of(baseline_repo, tmp_path / "repo")


@dataclass(frozen=True)
class Experiment:
    """One `dvc exp run` from the baseline, and the workspace as it left it."""

    repo: Path
    stdout: str
    params: str  # params.yaml
    metrics: str  # eval/metrics.json


@pytest.fixture(scope="session")
def serial_experiments(baseline_repo, tmp_path_factory) -> dict[int, Experiment]:
    """`dvc exp run -n units<N> -S model.units=<N>` for N = 4 and 6, each alone in its own copy of the baseline.

    Shared by the tests that need such an experiment (test_pipeline.py, test_experiments.py): each is minutes of
    training and evaluation on 2 cores. Tests that change the repository work on a copy_of it.
    """
    experiments = {}
    for units in (4, 6):
        path = copy_of(baseline_repo, tmp_path_factory.mktemp(f"units{units}") / "repo")
        result = run_command(["dvc", "exp", "run", "-n", f"units{units}", "-S", f"model.units={units}"], cwd=path)
        experiments[units] = Experiment(path, result.stdout, (path / "params.yaml").read_text(),
                                        (path / "eval/metrics.json").read_text())
    return experiments


def digests(paths) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


@dataclass(frozen=True)
class Sweep:
    """A Hydra multirun of stages.train with the basic launcher, and the workspace before and after it."""

    repo: Path
    directory: Path
    stdout: str
    before: dict  # digests of the workspace's DVC outputs of train and evaluate
    after: dict
    left_in_workspace: list[str]  # outputs/ or .hydra/ a Hydra run would write into the workspace


@pytest.fixture(scope="session")
def basic_sweep(baseline_repo, tmp_path_factory) -> Sweep:
    """`python -m stages.train -m model.units=4,6` in a copy of the baseline: both jobs, one after another.

    Shared by test_experiments.py (what a multirun writes where) and test_launchers.py (the results the other
    launchers must give), which runs its own sweeps in the same copy.
    """
    path = copy_of(baseline_repo, tmp_path_factory.mktemp("sweeps") / "repo")
    watched = [path / "models/bundle/model.keras", path / "eval/metrics.json"]
    before = digests(watched)
    result = run_command([sys.executable, "-m", "stages.train", "-m", "model.units=4,6",
                          "hydra.sweep.dir=multirun/basic"], cwd=path)
    return Sweep(path, path / "multirun/basic", result.stdout, before, digests(watched),
                 [name for name in ("outputs", ".hydra") if (path / name).exists()])
