"""The released base model in models/base: it loads, it is what `asr transcribe` uses without a trained bundle,
its provenance agrees with its metrics and samples, and no reserved voice reached its corpus."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from asr.corpus.engines.reserved import is_reserved
from asr.csvio import read_text_table
from tests.conftest import REPO

BASE = REPO / "models" / "base"
ASR = str(Path(sys.executable).parent / "asr")


def asr(args, cwd):
    return subprocess.run([ASR, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_without_a_trained_bundle_asr_transcribe_uses_the_base_model(tmp_path):
    samples = read_text_table(BASE / "samples" / "samples.csv")
    first = samples.iloc[0]
    result = asr(["transcribe", "--json", str(BASE / "samples" / first.path)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert Path(tmp_path, record["model"]).resolve() == BASE.resolve()
    assert record["text"] == first.hypothesis  # what the release recorded for this held-out file
    assert "using the released base model" in result.stderr
    # with a trained bundle where `dvc repro` puts it, that one is used, and nothing is said
    shutil.copytree(BASE, tmp_path / "models" / "bundle")
    result = asr(["transcribe", "--json", str(BASE / "samples" / first.path)], cwd=tmp_path)
    assert json.loads(result.stdout)["model"] == os.path.join("models", "bundle") and result.stderr == ""


def test_help_says_which_model_is_the_default():
    result = asr(["transcribe", "--help"], cwd=REPO)
    assert "models/bundle" in result.stdout and "models/base" in result.stdout


def test_the_provenance_agrees_with_the_metrics_and_names_the_run():
    provenance = json.loads((BASE / "provenance.json").read_text())
    metrics = json.loads((BASE / "metrics.json").read_text())
    for name, recorded in provenance["metrics"].items():
        assert recorded["test_cer"] == metrics[name]["test_cer"]
    assert provenance["params"]["data"]["heldout_engine"] == "piper"
    assert "piper" not in provenance["corpus"]["train"] and "piper" not in provenance["corpus"]["dev"]
    assert "kokoro" in provenance["corpus"]["train"]
    assert len(provenance["code"]["commit"]) == 40 and provenance["training"]["hours"] > 0
    bundle_settings = json.loads((BASE / "model.json").read_text())
    assert {k: provenance["params"]["model"][k] for k in bundle_settings} == bundle_settings


def test_no_reserved_voice_reached_the_base_corpus():
    corpus = json.loads((BASE / "provenance.json").read_text())["corpus"]
    voices = [voice for split in corpus.values() for engine in split.values() for voice in engine["voices"]]
    assert len(voices) > 100  # eSpeak's variants, Kokoro's voices, ...
    reserved = [voice for voice in voices if is_reserved(voice.split(":", 1)[1])]
    assert reserved == []
