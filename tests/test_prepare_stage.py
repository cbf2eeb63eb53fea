"""The prepare stage as users run it (a Hydra app) on real-corpus layouts with bad input mixed in."""

import subprocess
import sys

import numpy as np
import pandas as pd
import soundfile as sf

from tests.conftest import REPO
from tests.corpus_fixtures import make_librispeech, tone, write_audio


def prepare(tmp_path, *overrides):
    return subprocess.run([sys.executable, "-m", "stages.prepare", f"paths.prepared={tmp_path / 'prepared'}",
                           *overrides], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(REPO), "PATH": ""})


def test_bad_files_are_listed_in_rejected_csv_and_the_rest_is_kept(tmp_path):
    root = tmp_path / "corpus"
    for name in ("a", "b", "c"):
        write_audio(root / f"{name}.wav", tone(22050, 6615, 300), 22050)
    (root / "corrupt.wav").write_bytes(b"not audio at all" * 20)
    write_audio(root / "empty.wav", np.zeros(0, np.float32), 16000)
    write_audio(root / "silent.wav", np.zeros(8000, np.float32), 16000)
    rows = [("a.wav", "one", "train"), ("b.wav", "two", "dev"), ("c.wav", "three", "test"),
            ("corrupt.wav", "x", "train"), ("empty.wav", "x", "train"), ("silent.wav", "x", "train"),
            ("missing.wav", "x", "train"), ("../outside.wav", "x", "train"), ("a.wav", "", "train")]
    pd.DataFrame(rows, columns=["path", "text", "split"]).assign(id=[f"u{i}" for i in range(9)]).to_csv(
        root / "set.csv", index=False)

    result = prepare(tmp_path, "data=manifest", f"data.root={root / 'set.csv'}")
    assert result.returncode == 0, result.stderr
    assert "kept 3 utterances" in result.stdout and "rejected 6" in result.stdout
    out = tmp_path / "prepared"
    rejected = pd.read_csv(out / "rejected.csv")
    reasons = dict(zip(rejected["id"], rejected["reason"]))
    assert reasons["u3"].startswith("unreadable audio")
    assert reasons["u4"] == "empty audio (0 samples)"
    assert reasons["u5"].startswith("silent audio")
    assert reasons["u6"] == "audio file not found"
    assert reasons["u7"] == "path outside dataset root"
    assert reasons["u8"] == "missing transcript"
    train = pd.read_csv(out / "train.csv")
    assert train["id"].tolist() == ["u0"] and train["text"].tolist() == ["one"]
    audio, rate = sf.read(out / train["path"][0])
    info = sf.info(str(out / train["path"][0]))
    assert rate == 16000 and info.channels == 1 and info.subtype == "PCM_16" and len(audio) == 4800
    assert not list(tmp_path.glob("outputs")) and not list(tmp_path.glob(".hydra"))


def test_librispeech_split_from_subset_folders(tmp_path):
    root = make_librispeech(tmp_path / "LibriSpeech")
    result = prepare(tmp_path, "data=librispeech", f"data.root={root}")
    assert result.returncode == 0, result.stderr
    sizes = {s: len(pd.read_csv(tmp_path / "prepared" / f"{s}.csv")) for s in ("train", "dev", "test")}
    assert sizes == {"train": 3, "dev": 1, "test": 1}


def test_nothing_usable_fails_with_one_message_and_keeps_the_old_output(tmp_path):
    (tmp_path / "prepared").mkdir()
    (tmp_path / "prepared" / "train.csv").write_text("previous run\n")
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "bad.wav").write_bytes(b"garbage" * 10)
    pd.DataFrame([("bad.wav", "hello")], columns=["path", "text"]).to_csv(root / "set.csv", index=False)
    result = prepare(tmp_path, "data=manifest", f"data.root={root / 'set.csv'}")
    assert result.returncode == 1
    assert "error: no usable training utterances (1 rejected)" in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "prepared" / "train.csv").read_text() == "previous run\n"  # written atomically


def test_missing_required_root_is_one_clear_message(tmp_path):
    result = prepare(tmp_path, "data=ljspeech")
    assert result.returncode == 1
    assert "error: Missing mandatory value: data.root" in result.stderr
    assert "Traceback" not in result.stderr
