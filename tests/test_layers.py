"""The architecture holds: import layers (import-linter contracts in pyproject.toml) and exact code deps in dvc.yaml."""

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("prepare", "features", "labels", "train", "evaluate")
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([LINT_IMPORTS, "--no-cache"], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(cwd), "PATH": ""})


def test_import_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken" in result.stdout


@pytest.mark.parametrize("module, upward_import, contract", [
    ("asr/text/normalise.py", "from asr.model import network", "asr subpackages follow the data path"),
    ("asr/corpus/engines/espeak.py", "from asr.corpus import synthetic", "synthesis engines stand alone"),
    ("stages/labels.py", "from stages import train", "no stage imports another stage"),
])
def test_an_upward_import_breaks_a_contract(tmp_path, module, upward_import, contract):
    for name in ("asr", "stages", "pyproject.toml"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{upward_import}  # an import against the layers\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1
    assert f"{contract} BROKEN" in result.stdout


def module_file(module: str) -> str:
    path = Path(*module.split("."))
    return f"{path}/__init__.py" if (ROOT / path).is_dir() else f"{path}.py"


@pytest.mark.parametrize("stage", STAGES)
def test_dvc_code_deps_are_exactly_what_the_stage_imports(stage):
    graph = grimp.build_graph("asr", "stages")
    used = {module_file(m) for m in graph.find_upstream_modules(f"stages.{stage}") | {f"stages.{stage}"}}
    used = {f for f in used if not f.endswith("__init__.py")}  # package docstrings carry no code
    deps = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"][stage]["deps"]
    code_deps = [d for d in deps if d.split("/")[0] in ("asr", "stages")]

    def covers(dep, path):
        return path == dep or path.startswith(dep + "/")

    missing = sorted(f for f in used if not any(covers(d, f) for d in code_deps))
    unused = sorted(d for d in code_deps if not any(covers(d, f) for f in used))
    assert not missing, f"{stage} imports code dvc.yaml does not list: {missing}"
    assert not unused, f"{stage} lists code it never imports: {unused}"
