"""`asr transcribe` and `asr evaluate` on real audio with a model trained in the test."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from asr.audio import resample
from asr.metrics import character_error_rate
from tests.conftest import REPO

pytestmark = pytest.mark.slow


def asr(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "asr.cli", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def originals(overfit_bundle, tmp_path_factory):
    """Three training utterances, peak-normalised to 0.9, as 16 kHz mono 16-bit WAVs; and their texts."""
    bundle, prepared = overfit_bundle
    out = tmp_path_factory.mktemp("originals")
    manifest = pd.read_csv(prepared / "train.csv").head(3)
    result = []
    for path, text in zip(manifest.path, manifest.text):
        audio, rate = sf.read(prepared / path, dtype="float32")
        sf.write(out / Path(path).name, 0.9 * audio / np.abs(audio).max(), rate, subtype="PCM_16")
        result.append((out / Path(path).name, text))
    return result


def test_help_for_every_command():
    for args in (["--help"], ["transcribe", "--help"], ["evaluate", "--help"]):
        result = asr(*args)
        assert result.returncode == 0 and "usage: asr" in result.stdout


def test_any_rate_channels_depth_and_format_give_the_same_text(overfit_bundle, originals, tmp_path):
    bundle, _ = overfit_bundle
    source, text = originals[0]
    audio, rate = sf.read(source, dtype="float32")
    # 8 kHz keeps nothing above 4 kHz, so its 16 kHz counterpart is the same band-limited signal
    narrowband = resample(audio, rate, 8000)
    sf.write(tmp_path / "narrowband16k.wav", resample(narrowband, 8000, rate), rate, subtype="FLOAT")
    variants = {
        "8k.wav": (narrowband, 8000, "FLOAT"),
        "22k.wav": (resample(audio, rate, 22050), 22050, "PCM_16"),
        "44k.wav": (resample(audio, rate, 44100), 44100, "PCM_16"),
        "stereo.wav": (np.stack([audio, audio], axis=1), rate, "PCM_16"),
        "float.wav": (audio, rate, "FLOAT"),
        "audio.flac": (audio, rate, "PCM_16"),
    }
    for name, (data, variant_rate, subtype) in variants.items():
        sf.write(tmp_path / name, data, variant_rate, subtype=subtype)
    result = asr("transcribe", "--model", bundle, source, tmp_path / "narrowband16k.wav",
                 *[tmp_path / n for n in variants])
    assert result.returncode == 0, result.stderr
    texts = dict(line.split("\t", 1) for line in result.stdout.splitlines())
    original = texts.pop(str(source))
    assert character_error_rate([text], [original]) < 0.35, (text, original)  # the model really learnt it
    assert texts[str(tmp_path / "8k.wav")] == texts[str(tmp_path / "narrowband16k.wav")]
    for name in variants:
        if name != "8k.wav":
            assert texts[str(tmp_path / name)] == original, name


def test_directory_with_corrupt_and_empty_files_transcribes_the_rest(overfit_bundle, originals, tmp_path):
    bundle, _ = overfit_bundle
    folder = tmp_path / "in" / "nested"
    folder.mkdir(parents=True)
    for k, (source, _) in enumerate(originals[:2]):
        (folder / f"good{k}.wav").write_bytes(source.read_bytes())
    (folder / "corrupt.wav").write_bytes(b"RIFF\x00\x00garbage" * 10)
    sf.write(folder / "empty.wav", np.zeros(0, np.float32), 16000)
    result = asr("transcribe", "--model", bundle, tmp_path / "in")
    assert result.returncode == 1
    assert sorted(line.split("\t")[0].rsplit("/", 1)[1] for line in result.stdout.splitlines()) == [
        "good0.wav", "good1.wav"]
    errors = [line for line in result.stderr.splitlines() if line.startswith("asr: ")]
    assert any("corrupt.wav: unreadable audio" in e for e in errors)
    assert any("empty.wav: empty audio" in e for e in errors)


def test_json_lines_have_text_times_and_alignment(overfit_bundle, originals):
    bundle, _ = overfit_bundle
    source, _ = originals[1]
    result = asr("transcribe", "--json", "--model", bundle, source)
    record = json.loads(result.stdout)
    assert set(record) == {"path", "text", "duration", "seconds", "chars", "words"}
    assert record["duration"] == pytest.approx(sf.info(str(source)).duration, abs=0.01)
    assert "".join(c["char"] for c in record["chars"]) == record["text"]
    assert [w["word"] for w in record["words"]] == record["text"].split()
    starts = [c["start"] for c in record["chars"]]
    assert starts == sorted(starts) and 0 <= starts[0] and starts[-1] <= record["duration"]
    assert all(w["start"] < w["end"] for w in record["words"])


def test_raw_pcm_input(overfit_bundle, originals, tmp_path):
    bundle, _ = overfit_bundle
    source, _ = originals[0]
    audio, rate = sf.read(source, dtype="int16")
    (tmp_path / "speech.raw").write_bytes(audio.astype("<i2").tobytes())
    wav = asr("transcribe", "--model", bundle, source).stdout.split("\t")[1]
    raw = asr("transcribe", "--model", bundle, "--raw-rate", rate, tmp_path / "speech.raw")
    assert raw.returncode == 0, raw.stderr
    assert raw.stdout.split("\t")[1] == wav


def test_evaluate_manifest_with_hand_computable_errors(overfit_bundle, originals, tmp_path):
    bundle, _ = overfit_bundle
    source, _ = originals[0]
    hypothesis = asr("transcribe", "--model", bundle, source).stdout.split("\t")[1].strip()
    assert hypothesis
    (tmp_path / "a.wav").write_bytes(source.read_bytes())
    # the reference is what the model says plus ", ZZ!", which normalises to " zz": 3 deleted characters, 1 word
    reference = hypothesis.upper() + ", ZZ!"
    pd.DataFrame([dict(path="a.wav", text=reference)]).to_csv(tmp_path / "set.tsv", sep="\t", index=False)
    result = asr("evaluate", "--model", bundle, tmp_path / "set.tsv")
    assert result.returncode == 0, result.stderr
    expected_cer = 3 / (len(hypothesis) + 3)
    expected_wer = 1 / (len(hypothesis.split()) + 1)
    assert f"CER {expected_cer:.4f}" in result.stdout and f"WER {expected_wer:.4f}" in result.stdout
    predictions = pd.read_csv(tmp_path / "set.predictions.csv", keep_default_na=False)
    assert predictions.loc[0, "reference"] == hypothesis + " zz"


def test_missing_model_is_a_clear_error(tmp_path):
    result = asr("transcribe", "--model", tmp_path / "nope", tmp_path / "x.wav")
    assert result.returncode == 2
    assert "model bundle not found" in result.stderr and "Traceback" not in result.stderr
