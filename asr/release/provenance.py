"""What a released model was made from, written by code: commit, input hashes, corpus, hardware, training time."""

import hashlib
import os
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import yaml

from asr.csvio import read_text_table
from asr.corpus.common import SPLITS


def sha256_of(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def git_state(repo=".") -> dict:
    """The commit the code came from, and whether tracked files differed from it."""
    def git(*args):
        result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
        return result.stdout.strip() if result.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    changed = git("status", "--porcelain", "--untracked-files=no")
    return dict(commit=commit, uncommitted_changes=bool(changed) if changed is not None else None)


def input_hashes(labels_dir, features_dir) -> dict:
    """sha256 of the files that fix what the network was trained and selected on."""
    labels_dir, features_dir = Path(labels_dir), Path(features_dir)
    files = [labels_dir / f"{split}.csv" for split in SPLITS] + [labels_dir / "vocab.json",
                                                                 features_dir / "cmvn.json", features_dir / "index.csv"]
    return {path.as_posix(): sha256_of(path) for path in files if path.is_file()}


def lock_hashes(lock_file, paths) -> dict:
    """The md5 that dvc.lock records for each of `paths` (a stage output), where it records one."""
    lock_file = Path(lock_file)
    if not lock_file.is_file():
        return {}
    found = {}
    for stage in (yaml.safe_load(lock_file.read_text()) or {}).get("stages", {}).values():
        for out in stage.get("outs", []):
            if out.get("path") in paths:
                found[out["path"]] = out.get("md5")
    return found


def corpus_summary(labels_dir) -> dict:
    """Utterances, hours of audio and voices per split and engine, from the labels CSVs."""
    summary = {}
    for split in SPLITS:
        path = Path(labels_dir) / f"{split}.csv"
        if not path.is_file():
            continue
        table = read_text_table(path, floats=["duration"])
        engines = table.groupby("engine") if "engine" in table else [("all", table)]
        summary[split] = {str(engine): dict(utterances=len(group), hours=round(float(group.duration.sum()) / 3600, 3),
                                            voices=sorted(set(group.speaker)) if "speaker" in group else [])
                          for engine, group in engines}
    return summary


def hardware() -> dict:
    """Where the training ran: CPU model and cores, and the framework versions."""
    import keras
    import tensorflow as tf

    model = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        model = names[0] if names else model
    return dict(cpu=model, cores=os.cpu_count(), gpus=len(tf.config.list_physical_devices("GPU")),
                machine=platform.machine(), python=platform.python_version(), tensorflow=tf.__version__,
                keras=keras.__version__)


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
