"""stages.release on a tiny run: the released directory, its provenance and metrics, and transcribing with it."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf

from asr.csvio import read_text_table
from asr.release.provenance import sha256_of
from stages import release, train
from tests.conftest import REPO, run_stage

pytestmark = pytest.mark.slow
ASR = str(Path(sys.executable).parent / "asr")


@pytest.fixture(scope="module")
def released(tiny_data, tmp_path_factory):
    """Two tracked epochs on the tiny corpus, then stages.release of them; (config, release directory)."""
    cfg, _ = tiny_data
    cfg = cfg.copy()
    out = tmp_path_factory.mktemp("release")
    for key in ("model", "checkpoint", "live", "eval"):
        cfg.paths[key] = str(out / key)
    tiny_test = dict(name="tiny_test", features=cfg.paths.features, labels=cfg.paths.labels, split="test")
    cfg.train.epochs, cfg.train.learning_rate, cfg.train.track = 2, 0.01, [tiny_test]
    run_stage(train, cfg)
    cfg.release = OmegaConf.create(dict(dir=str(out / "base"), test_sets=[tiny_test], samples=dict(
        test_set="tiny_test", prepared=cfg.paths.prepared, engine="hibari", count=2)))
    release.release(cfg)
    return cfg, out / "base"


def test_the_release_holds_a_bundle_and_provenance_written_from_the_run(released):
    cfg, base = released
    assert {"model.keras", "vocab.json", "features.json", "cmvn.json", "model.json", "provenance.json",
            "metrics.json", "curve.csv", "examples.csv"} <= {p.name for p in base.iterdir()}
    provenance = json.loads((base / "provenance.json").read_text())
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    assert provenance["code"]["commit"] == head
    train_csv = f"{cfg.paths.labels}/train.csv"
    assert provenance["inputs"][train_csv] == sha256_of(train_csv)
    assert provenance["params"]["model"]["units"] == cfg.model.units
    rows = read_text_table(train_csv)
    assert sum(e["utterances"] for e in provenance["corpus"]["train"].values()) == len(rows)
    assert provenance["training"]["epochs"] == 2 and provenance["hardware"]["cores"] >= 1
    metrics = json.loads((base / "metrics.json").read_text())["tiny_test"]
    evaluated = json.loads((base.parent / "eval" / "tiny_test" / "metrics.json").read_text())
    assert metrics["test_cer"] == evaluated["test_cer"] and metrics["heldout_cer"] == evaluated["heldout_cer"]
    assert provenance["metrics"]["tiny_test"]["test_cer"] == metrics["test_cer"]


def test_the_curve_has_each_epochs_hours_and_tracked_cer(released):
    cfg, base = released
    curve = pd.read_csv(base / "curve.csv")
    assert list(curve["epoch"]) == [1, 2] and curve["train_hours"].is_monotonic_increasing
    logged = read_text_table(f"{cfg.paths.live}/plots/metrics/tiny_test/cer.tsv", sep="\t")
    assert list(curve["tiny_test_cer"]) == pytest.approx([float(v) for v in logged["cer"]], abs=1e-5)
    assert "tiny_test_cer_hibari" in curve and "dev_cer" in curve


def test_asr_evaluate_of_the_released_samples_gives_the_recorded_cer(released, tmp_path):
    _, base = released
    samples = read_text_table(base / "samples" / "samples.csv")
    assert len(samples) == 2 and set(samples["engine"]) == {"hibari"}
    result = subprocess.run([ASR, "evaluate", str(base / "samples" / "samples.csv"),
                             "--model", str(base), "--output", str(tmp_path / "p.csv")],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    again = read_text_table(tmp_path / "p.csv")
    assert list(again["hypothesis"]) == list(samples["hypothesis"])
    assert [float(c) for c in again["cer"]] == pytest.approx([float(c) for c in samples["cer"]], abs=1e-5)


def test_asr_evaluate_of_the_recorded_test_split_reproduces_the_released_cer(released, tmp_path):
    _, base = released
    reproduce = json.loads((base / "provenance.json").read_text())["reproduce"]
    command = reproduce["command"].split()
    assert command[:2] == ["asr", "evaluate"]
    result = subprocess.run([ASR, *command[1:], "--output", str(tmp_path / "p.csv")], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"CER {reproduce['test_cer']:.4f} ")
