"""The committed dvc.lock is of the committed code: `dvc status` in this checkout names no changed code dependency.

A stage whose code changed after the lock was written would rerun in every fresh clone, and the committed metrics
would not be of this code. Data dependencies (another stage's outputs, absent from a clone: no DVC remote) may be
missing; a dependency that no stage writes is code or committed input and must match the lock's hash.
"""

import json
import subprocess
from pathlib import Path

import yaml

from tests.conftest import REPO


def stage_outputs() -> list[Path]:
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    return [Path(next(iter(out)) if isinstance(out, dict) else out) for stage in stages.values()
            for out in stage.get("outs", [])]


def is_written_by_a_stage(dep: str, outputs: list[Path]) -> bool:
    return any(Path(dep) == out or out in Path(dep).parents for out in outputs)


def test_only_data_written_by_stages_is_missing_or_changed():
    result = subprocess.run(["dvc", "status", "--json"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    outputs = stage_outputs()
    stale = {}
    for stage, changes in json.loads(result.stdout or "{}").items():
        for change in changes:
            if not isinstance(change, dict):  # "changed command", "always changed": the lock is of another dvc.yaml
                stale.setdefault(stage, []).append(str(change))
                continue
            # changed params show here too, as params.yaml: {key: "modified"}
            for dep, how in change.get("changed deps", {}).items():
                if not is_written_by_a_stage(dep, outputs):
                    stale.setdefault(stage, []).append(f"{dep} {how}")
    assert not stale, f"dvc.lock is stale (rerun `dvc repro` and commit dvc.lock): {stale}"


def test_the_check_tells_code_from_stage_outputs():
    outputs = stage_outputs()
    assert is_written_by_a_stage("data/prepared", outputs) and is_written_by_a_stage("data/features/index.csv", outputs)
    assert is_written_by_a_stage("models/bundle", outputs)
    assert not is_written_by_a_stage("asr/model", outputs) and not is_written_by_a_stage("stages/train.py", outputs)
    assert not is_written_by_a_stage("data/prepared_extra.csv", outputs)
