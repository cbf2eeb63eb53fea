"""How a stage gets its config: from params.yaml under DVC, or from conf/ as a Hydra app.

    python -m stages.train --params params.yaml   # what dvc.yaml runs: sees `dvc exp run -S` values
    python -m stages.train model.units=64         # standalone Hydra app over conf/
    python -m stages.train -m model.units=32,64   # Hydra multirun
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out of stage logs

import hydra  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402

from asr.errors import UserError  # noqa: E402

CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")


def _report_errors(run):
    def wrapped(cfg: DictConfig):
        try:
            return run(cfg)
        except UserError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(1)

    return wrapped


def stage_main(run) -> None:
    """Run `run(cfg)` with the config from `--params FILE` or from Hydra's command line."""
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
