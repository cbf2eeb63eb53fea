"""Write params.yaml as the composition of conf/ (what `dvc exp run` does before each run).

Run after editing conf/ if you use plain `dvc repro`, which reads params.yaml as it is:
    python -m stages.params
"""

import sys
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from stages.entry import CONF_DIR


def compose_params(overrides=()) -> dict:
    """conf/ + overrides -> a plain dict, exactly what DVC's Hydra integration writes."""
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=list(overrides))
    return OmegaConf.to_container(cfg, resolve=True)


def main() -> None:
    target = Path("params.yaml")
    target.write_text(OmegaConf.to_yaml(OmegaConf.create(compose_params(sys.argv[1:]))))
    print(f"wrote {target} from {CONF_DIR}")


if __name__ == "__main__":
    main()
