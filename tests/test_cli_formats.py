"""`asr transcribe --format`, `-o DIR` and `-` (standard input) on real recordings, through the real command."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import srt
import webvtt

from asr.app.formats.segments import MAX_CUE_CHARACTERS, PAUSE_SECONDS
from tests.conftest import REPO
from tests.corpus_fixtures import tone
from tests.random_bundle import write_random_bundle

pytestmark = pytest.mark.slow  # each call starts TensorFlow: seconds

RATE = 16000
SILENCE_SECONDS = 1.5  # between the utterances of the test recording: three times a pause


def asr(*args, stdin: bytes | None = None):
    """The real command in a subprocess, fed `stdin`; its output as bytes (audio may come in, text goes out)."""
    command = [sys.executable, "-m", "asr.app.cli", *map(str, args)]
    return subprocess.run(command, cwd=REPO, input=stdin, capture_output=True, timeout=600)


@pytest.fixture(scope="module")
def recording(overfit_bundle, tmp_path_factory):
    """Three training utterances one after another, 1.5 s of silence after each: (path, [(silence start, end)])."""
    _, prepared = overfit_bundle
    pieces, silences, at = [], [], 0.0
    for path in pd.read_csv(prepared / "train.csv").path.head(3):
        audio, rate = sf.read(prepared / path, dtype="float32")
        assert rate == RATE
        pieces += [0.9 * audio / np.abs(audio).max(), np.zeros(int(SILENCE_SECONDS * RATE), np.float32)]
        at += len(audio) / RATE
        silences.append((at, at + SILENCE_SECONDS))
        at += SILENCE_SECONDS
    path = tmp_path_factory.mktemp("recording") / "three utterances.wav"
    sf.write(path, np.concatenate(pieces), RATE, subtype="PCM_16")
    return path, silences


def cues_of(document_path: Path):
    """(start, end, words) of each cue, times in milliseconds, parsed by the format's own library."""
    if document_path.suffix == ".srt":
        ms = srt.timedelta(milliseconds=1)
        return [(c.start // ms, c.end // ms, c.content.split()) for c in srt.parse(document_path.read_text())]
    return [(c.start_time.in_milliseconds(), c.end_time.in_milliseconds(), c.text.split())
            for c in webvtt.read(str(document_path)).captions]


def test_subtitles_of_a_real_recording_parse_and_their_cue_times_are_the_json_word_times(
        overfit_bundle, recording, tmp_path):
    bundle, _ = overfit_bundle
    path, silences = recording
    as_json = asr("transcribe", "--format", "json", "--model", bundle, path)
    assert as_json.returncode == 0, as_json.stderr
    record = json.loads(as_json.stdout)
    words = record["words"]
    assert len(words) >= 3, record  # the model learnt these utterances: it says words in each
    for fmt in ("srt", "vtt"):
        result = asr("transcribe", "--format", fmt, "-o", tmp_path / "out", "--model", bundle, path)
        assert result.returncode == 0 and result.stdout == b"", result.stderr
        cues = cues_of(tmp_path / "out" / f"three utterances.{fmt}")
        # every word, in order, in exactly one cue; a cue runs from its first word's start to its last word's end
        assert [w for _, _, cue_words in cues for w in cue_words] == [w["word"] for w in words], fmt
        first = 0
        for start, end, cue_words in cues:
            run = words[first: first + len(cue_words)]
            assert (start, end) == (round(run[0]["start"] * 1000), round(run[-1]["end"] * 1000)), fmt
            assert all(b["start"] - a["end"] < PAUSE_SECONDS for a, b in zip(run, run[1:])), fmt
            assert len(" ".join(cue_words)) <= MAX_CUE_CHARACTERS
            first += len(cue_words)
        # A 1.5 s silence between two words ends a cue. The tiny model may emit no space across a silence
        # ("wwere" + "ars" -> "wwerears"): that word spans it, and so does its cue, since cues are cut
        # between words; how often it does depends on its training, so the cut itself is also tested on
        # hand-made timings (tests/test_output_formats.py).
        between_words = [(a, b) for a, b in silences
                         if any(w["end"] <= a for w in words) and any(w["start"] >= b for w in words)
                         and not any(w["start"] < a and w["end"] > b for w in words)]
        assert len(cues) >= 1 + len(between_words), fmt
        for quiet_from, quiet_to in between_words:
            assert not any(start < quiet_from * 1000 and end > quiet_to * 1000 for start, end, _ in cues), fmt


def test_json_alias_tsv_and_txt_agree_with_format_json(overfit_bundle, recording, tmp_path):
    bundle, _ = overfit_bundle
    path, _ = recording
    records = [json.loads(asr("transcribe", *flags, "--model", bundle, path).stdout)
               for flags in (["--json"], ["--format", "json"])]
    for record in records:
        del record["seconds"]  # wall-clock time
    assert records[0] == records[1]
    text, words = records[0]["text"], records[0]["words"]
    assert asr("transcribe", "--format", "txt", "--model", bundle, path).stdout.decode() == text + "\n"
    tsv = asr("transcribe", "--format", "tsv", "--model", bundle, path).stdout.decode().splitlines()
    assert tsv[0] == "start\tend\ttext"
    rows = [row.split("\t") for row in tsv[1:]]
    assert " ".join(text for _, _, text in rows) == " ".join(w["word"] for w in words)
    assert float(rows[0][0]) == words[0]["start"] and float(rows[-1][1]) == words[-1]["end"]


def test_standard_input_is_read_like_a_file(overfit_bundle, recording, tmp_path):
    bundle, _ = overfit_bundle
    path, _ = recording
    from_file = asr("transcribe", "--model", bundle, path)
    text = from_file.stdout.decode().split("\t")[1]
    assert from_file.returncode == 0 and text.strip()
    flac = tmp_path / "a.flac"
    sf.write(flac, sf.read(path)[0], RATE, format="FLAC")
    for data in (path.read_bytes(), flac.read_bytes()):
        result = asr("transcribe", "--model", bundle, "-", stdin=data)
        assert result.returncode == 0, result.stderr
        assert result.stdout.decode() == f"-\t{text}"
    pcm = sf.read(path, dtype="int16")[0].astype("<i2").tobytes()
    raw = asr("transcribe", "--model", bundle, "--raw-rate", RATE, "-", stdin=pcm)
    assert raw.returncode == 0 and raw.stdout.decode() == f"-\t{text}", raw.stderr
    written = asr("transcribe", "--model", bundle, "--format", "srt", "-o", tmp_path / "out", "-", stdin=path.read_bytes())
    assert written.returncode == 0 and (tmp_path / "out" / "stdin.srt").is_file(), written.stderr


@pytest.fixture(scope="module")
def random_bundle(tmp_path_factory):
    return write_random_bundle(tmp_path_factory.mktemp("random") / "bundle")


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    path = tmp_path_factory.mktemp("good") / "good.wav"
    sf.write(path, tone(RATE, RATE, freq=300), RATE, subtype="PCM_16")
    return path


def one_error_line(stderr: bytes) -> str:
    # the progress bar (two or more inputs) shares stderr: tqdm clears it with a carriage return and spaces
    lines = [line.strip() for line in stderr.decode().splitlines() if line.strip().startswith("asr: ")]
    assert len(lines) == 1 and "Traceback" not in stderr.decode(), stderr.decode()
    return lines[0]


@pytest.mark.parametrize("stdin, reason", [(b"", "asr: -: empty standard input (0 bytes)"),
                                           (b"\x00garbage, not audio" * 50, "asr: -: unreadable audio")])
def test_empty_or_garbage_standard_input_is_one_line_and_the_other_inputs_are_transcribed(
        random_bundle, good, stdin, reason):
    result = asr("transcribe", "--model", random_bundle, "-", good, stdin=stdin)
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert line.startswith(reason) and "asr-stdin-" not in line, line  # not the temporary copy's name
    assert [row.split("\t")[0] for row in result.stdout.decode().splitlines()] == [str(good)]


def test_an_unwritable_output_directory_is_one_line_before_any_work(random_bundle, good, tmp_path):
    (tmp_path / "file").write_text("x")
    for directory, reason in ((tmp_path / "file", "not a directory"),
                              (tmp_path / "file" / "sub", "cannot write there (Not a directory)")):
        result = asr("transcribe", "--model", random_bundle, "--format", "srt", "-o", directory, good)
        assert result.returncode == 2 and result.stdout == b""
        assert one_error_line(result.stderr) == f"asr: error: -o {directory}: {reason}"


def test_an_output_that_cannot_be_written_is_one_line_and_the_others_are_written(random_bundle, good, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.wav", "b.wav"):
        (folder / name).write_bytes(good.read_bytes())
    (tmp_path / "out" / "a.vtt").mkdir(parents=True)  # a directory where a's subtitles would go
    result = asr("transcribe", "--model", random_bundle, "--format", "vtt", "-o", tmp_path / "out", folder)
    assert result.returncode == 1
    assert one_error_line(result.stderr).startswith(f"asr: {folder / 'a.wav'}: cannot write {tmp_path / 'out' / 'a.vtt'}")
    webvtt.read(str(tmp_path / "out" / "b.vtt"))  # parses
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.vtt", "b.vtt"]  # no temporary file left


def test_outputs_mirror_the_directories_given_and_usage_mistakes_are_refused(random_bundle, good, tmp_path):
    for sub in ("x", "y"):
        (tmp_path / "in" / sub).mkdir(parents=True)
        (tmp_path / "in" / sub / "same.wav").write_bytes(good.read_bytes())
    result = asr("transcribe", "--model", random_bundle, "-o", tmp_path / "out", tmp_path / "in")
    assert result.returncode == 0, result.stderr
    assert sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*.txt")) == [
        "x/same.txt", "y/same.txt"]
    mistakes = {  # arguments: the one line
        ("--format", "srt", tmp_path / "in"): "--format srt makes one document per input: give -o DIR for 2 inputs",
        ("--json", "--format", "vtt", good): "--json is --format json: give one of --json and --format vtt",
        ("-o", tmp_path / "o2", tmp_path / "in" / "x", tmp_path / "in" / "y"):
            f"{tmp_path / 'in/x/same.wav'} and {tmp_path / 'in/y/same.wav'} would both be written to "
            f"{tmp_path / 'o2/same.txt'}",
        ("-", "-"): "- (standard input) can be read only once",
    }
    for args, message in mistakes.items():
        result = asr("transcribe", "--model", random_bundle, *args, stdin=b"")
        assert result.returncode == 2 and one_error_line(result.stderr) == f"asr: error: {message}", args
