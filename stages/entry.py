"""How a stage gets its config: from params.yaml under DVC, or from conf/ as a Hydra app.

    python -m stages.train --params params.yaml   # what dvc.yaml runs: sees `dvc exp run -S` values
    python -m stages.train model.units=64         # standalone Hydra app over conf/
    python -m stages.train -m model.units=32,64   # Hydra multirun
"""

import functools
import itertools
import os
import socket
import sys
from datetime import datetime
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out of stage logs

import hydra  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402
from omegaconf.errors import OmegaConfBaseException  # noqa: E402

from asr.errors import UserError  # noqa: E402
from asr.native_log import native_logs_hidden, native_logs_wanted  # noqa: E402

CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")
SWEEP_STAMP = "%Y-%m-%d_%H-%M-%S"


def claim_sweep_dir(parent: str, now: datetime | None = None) -> str:
    """Create and return parent/<date>_<time>, or <date>_<time>-2, -3, ... when another sweep took that second.

    mkdir is atomic: of two sweeps starting in the same second each gets its own directory, where
    `${now:...}` names them alike and the second one's jobs overwrite the first one's.
    """
    stamp = (now or datetime.now()).strftime(SWEEP_STAMP)
    for attempt in itertools.count(1):
        path = Path(parent) / (stamp if attempt == 1 else f"{stamp}-{attempt}")
        try:
            path.mkdir(parents=True)
            return str(path)
        except FileExistsError:
            continue


# The sweep directory a sweep's main process claimed, for the jobs that parallel launchers (joblib, submitit)
# run in other processes: they inherit the environment and resolve ${sweep_dir:...} again.
SWEEP_DIR_VARIABLE = "ASR_SWEEP_DIR"


@functools.cache
def sweep_dir_of_this_sweep(parent: str) -> str:
    """The directory claimed for this sweep: inherited from the sweep's main process, else claimed here.

    Cached, so every job of one sweep in one process resolves the same directory however often Hydra copies and
    resolves its config; exported, so a job in a joblib worker or a submitit (SLURM) process finds it too,
    where a second claim would put its outputs in a directory of their own and the sweep summary would miss them.
    """
    inherited = os.environ.get(SWEEP_DIR_VARIABLE)
    if inherited and Path(inherited).parent == Path(parent):
        return inherited
    claimed = claim_sweep_dir(parent)
    os.environ[SWEEP_DIR_VARIABLE] = claimed
    return claimed


# conf/config.yaml: hydra.sweep.dir: ${sweep_dir:multirun}; only a multirun resolves it.
OmegaConf.register_new_resolver("sweep_dir", sweep_dir_of_this_sweep, replace=True)


def sweep_job_dir() -> Path | None:
    """This job's own directory under a Hydra multirun sweep, or None in a single run or under DVC."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return None
    return Path(HydraConfig.get().runtime.output_dir)


def rebase_paths(cfg: DictConfig, keys, directory: Path) -> DictConfig:
    """A copy of cfg whose paths.<key> outputs live under `directory` (a sweep job never touches the workspace's)."""
    cfg = cfg.copy()
    for key in keys:
        cfg.paths[key] = str(directory / Path(cfg.paths[key]).name)
    return cfg


def write_job_record(job_dir: Path, results: dict) -> None:
    """job.json in a sweep job's directory: its overrides, results, and the host and process that ran it."""
    from hydra.core.hydra_config import HydraConfig

    from asr.atomic import write_json

    # host and pid tell which worker (joblib process, SLURM node) ran the job: where to look for its log
    write_json(job_dir / "job.json", {"overrides": " ".join(HydraConfig.get().overrides.task), **results,
                                      "host": socket.gethostname(), "pid": os.getpid()})


def _report_errors(run):
    def wrapped(cfg: DictConfig):
        try:
            return run(cfg)
        except UserError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(1)
        except OmegaConfBaseException as exc:  # a missing (???) or unknown config key
            print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
            sys.exit(1)

    return wrapped


def stage_main(run) -> None:
    """Run `run(cfg)` with the config from `--params FILE` or from Hydra's command line.

    TensorFlow's C++ log lines stay out of the stage's log (asr.native_log; ASR_NATIVE_LOGS=1 shows them).
    """
    with native_logs_hidden(enabled=not native_logs_wanted()):
        _stage_main(run)


def _stage_main(run) -> None:
    sys.stdout.reconfigure(line_buffering=True)  # epoch lines appear as they happen, even in a log file
    args = sys.argv[1:]
    if args[:1] == ["--params"]:
        if len(args) != 2:
            sys.exit("usage: python -m stages.<name> --params params.yaml")
        try:
            cfg = OmegaConf.load(args[1])
        except OSError as exc:
            sys.exit(f"error: cannot read {args[1]}: {exc.strerror}")
        _report_errors(run)(cfg)
        return
    hydra.main(config_path=CONF_DIR, config_name="config", version_base="1.3")(_report_errors(run))()
