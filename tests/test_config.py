"""params.yaml is the composition of conf/; every stage is declared with what it reads."""

import subprocess
import sys

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from stages.entry import CONF_DIR
from stages.params import compose_params
from tests.conftest import REPO, stage_params


def test_params_yaml_equals_the_composition_of_conf():
    committed = OmegaConf.to_container(OmegaConf.load(REPO / "params.yaml"))
    assert committed == compose_params(), "run `python -m stages.params` after editing conf/"


def test_every_listed_param_exists_in_the_config():
    params = OmegaConf.create(compose_params())
    for stage in ("prepare", "features", "labels", "train", "evaluate"):
        for key in stage_params(stage):
            assert OmegaConf.select(params, key) is not None, f"{stage}: {key}"


def test_model_params_do_not_reach_the_data_stages():
    for stage in ("prepare", "features", "labels"):
        assert not any(key.startswith(("model", "train", "decode")) for key in stage_params(stage))


def test_hydra_writes_nothing_into_the_workspace_and_bad_overrides_fail_fast(tmp_path):
    result = subprocess.run([sys.executable, "-m", "stages.train", "model.units=0"], cwd=tmp_path,
                            capture_output=True, text=True, env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert result.returncode == 1
    assert "model.units must be > 0, got 0" in result.stderr and "Traceback" not in result.stderr
    unknown = subprocess.run([sys.executable, "-m", "stages.train", "model.unitz=3"], cwd=tmp_path,
                             capture_output=True, text=True, env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert unknown.returncode == 1 and "unitz" in unknown.stderr
    assert list(tmp_path.iterdir()) == []  # no outputs/, .hydra/ or log files


LAUNCHERS = {  # conf/hydra/launcher/<name>.yaml: the plugin it needs, the class it starts, one of its own values
    "asr_joblib": ("hydra_joblib_launcher", "JoblibLauncher", "n_jobs", 2),
    "asr_submitit_local": ("hydra_submitit_launcher", "LocalLauncher", "gpus_per_node", 0),
    "asr_slurm": ("hydra_submitit_launcher", "SlurmLauncher", "timeout_min", 120),
}


@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_launcher_configs_compose_and_stay_out_of_params(launcher):
    plugin, target, key, value = LAUNCHERS[launcher]
    pytest.importorskip(f"hydra_plugins.{plugin}", reason='needs pip install -e ".[sweep]"')
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"hydra/launcher={launcher}"], return_hydra_config=True)
    assert cfg.hydra.launcher._target_.endswith(f".{target}")
    assert cfg.hydra.launcher[key] == value  # our file's value, not the plugin's default
    assert compose_params([f"hydra/launcher={launcher}"]) == compose_params()  # params.yaml holds no launcher
