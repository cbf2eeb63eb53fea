"""params.yaml is the composition of conf/; every stage is declared with what it reads."""

import subprocess
import sys

from omegaconf import OmegaConf

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
