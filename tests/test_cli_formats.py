"""`asr transcribe --format`, `-o DIR` and `-` (standard input) on real recordings, through the real command.

Every command of this module runs in one `asr` process (tests/asr_in_one_process.py: each with its own stdin,
stdout, stderr and exit status), started once by the `runs` fixture: TensorFlow is imported once, not 22 times.
Each test builds its inputs in a `*_commands` function the fixture calls, and checks what its commands did.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import srt
import webvtt

from asr.app.formats.segments import MAX_CUE_CHARACTERS, PAUSE_SECONDS
from tests.asr_in_one_process import run_asr_commands
from tests.corpus_fixtures import tone
from tests.random_bundle import write_random_bundle

pytestmark = pytest.mark.slow  # the module's one `asr` process starts TensorFlow: seconds

RATE = 16000
SILENCE_SECONDS = 1.5  # between the utterances of the test recording: three times a pause


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


def subtitles_commands(bundle, path, tmp_path):
    return {"json": (["transcribe", "--format", "json", "--model", bundle, path], None),
            **{fmt: (["transcribe", "--format", fmt, "-o", tmp_path / "out", "--model", bundle, path], None)
               for fmt in ("srt", "vtt")}}


def test_subtitles_of_a_real_recording_parse_and_their_cue_times_are_the_json_word_times(recording, runs):
    path, silences = recording
    ran, tmp_path = runs["subtitles"]
    as_json = ran["json"]
    assert as_json.returncode == 0, as_json.stderr
    record = json.loads(as_json.stdout)
    words = record["words"]
    assert len(words) >= 3, record  # the model learnt these utterances: it says words in each
    for fmt in ("srt", "vtt"):
        result = ran[fmt]
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


def formats_commands(bundle, path, tmp_path):
    flags = {"--json": ["--json"], "json": ["--format", "json"], "txt": ["--format", "txt"], "tsv": ["--format", "tsv"]}
    return {name: (["transcribe", *flag, "--model", bundle, path], None) for name, flag in flags.items()}


def test_json_alias_tsv_and_txt_agree_with_format_json(runs):
    ran, _ = runs["formats"]
    records = [json.loads(ran[name].stdout) for name in ("--json", "json")]
    for record in records:
        del record["seconds"]  # wall-clock time
    assert records[0] == records[1]
    text, words = records[0]["text"], records[0]["words"]
    assert ran["txt"].stdout.decode() == text + "\n"
    tsv = ran["tsv"].stdout.decode().splitlines()
    assert tsv[0] == "start\tend\ttext"
    rows = [row.split("\t") for row in tsv[1:]]
    assert " ".join(text for _, _, text in rows) == " ".join(w["word"] for w in words)
    assert float(rows[0][0]) == words[0]["start"] and float(rows[-1][1]) == words[-1]["end"]


def stdin_commands(bundle, path, tmp_path):
    flac = tmp_path / "a.flac"
    sf.write(flac, sf.read(path)[0], RATE, format="FLAC")
    pcm = sf.read(path, dtype="int16")[0].astype("<i2").tobytes()
    return {"file": (["transcribe", "--model", bundle, path], None),
            "wav": (["transcribe", "--model", bundle, "-"], path.read_bytes()),
            "flac": (["transcribe", "--model", bundle, "-"], flac.read_bytes()),
            "raw": (["transcribe", "--model", bundle, "--raw-rate", RATE, "-"], pcm),
            "srt": (["transcribe", "--model", bundle, "--format", "srt", "-o", tmp_path / "out", "-"], path.read_bytes())}


def test_standard_input_is_read_like_a_file(runs):
    ran, tmp_path = runs["stdin"]
    from_file = ran["file"]
    text = from_file.stdout.decode().split("\t")[1]
    assert from_file.returncode == 0 and text.strip()
    for data in ("wav", "flac"):
        result = ran[data]
        assert result.returncode == 0, result.stderr
        assert result.stdout.decode() == f"-\t{text}"
    raw = ran["raw"]
    assert raw.returncode == 0 and raw.stdout.decode() == f"-\t{text}", raw.stderr
    written = ran["srt"]
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


BAD_STDIN = [(b"", "asr: -: empty standard input (0 bytes)"),
             (b"\x00garbage, not audio" * 50, "asr: -: unreadable audio")]


def bad_stdin_commands(bundle, good, tmp_path):
    return {stdin: (["transcribe", "--model", bundle, "-", good], stdin) for stdin, _ in BAD_STDIN}


@pytest.mark.parametrize("stdin, reason", BAD_STDIN)
def test_empty_or_garbage_standard_input_is_one_line_and_the_other_inputs_are_transcribed(good, runs, stdin, reason):
    result = runs["bad stdin"][0][stdin]
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert line.startswith(reason) and "asr-stdin-" not in line, line  # not the temporary copy's name
    assert [row.split("\t")[0] for row in result.stdout.decode().splitlines()] == [str(good)]


def unwritable_directories(tmp_path):
    return ((tmp_path / "file", "not a directory"), (tmp_path / "file" / "sub", "cannot write there (Not a directory)"))


def unwritable_commands(bundle, good, tmp_path):
    (tmp_path / "file").write_text("x")
    return {directory: (["transcribe", "--model", bundle, "--format", "srt", "-o", directory, good], None)
            for directory, _ in unwritable_directories(tmp_path)}


def test_an_unwritable_output_directory_is_one_line_before_any_work(runs):
    ran, tmp_path = runs["unwritable"]
    for directory, reason in unwritable_directories(tmp_path):
        result = ran[directory]
        assert result.returncode == 2 and result.stdout == b""
        assert one_error_line(result.stderr) == f"asr: error: -o {directory}: {reason}"


def blocked_output_commands(bundle, good, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.wav", "b.wav"):
        (folder / name).write_bytes(good.read_bytes())
    (tmp_path / "out" / "a.vtt").mkdir(parents=True)  # a directory where a's subtitles would go
    return {"vtt": (["transcribe", "--model", bundle, "--format", "vtt", "-o", tmp_path / "out", folder], None)}


def test_an_output_that_cannot_be_written_is_one_line_and_the_others_are_written(runs):
    ran, tmp_path = runs["blocked output"]
    folder = tmp_path / "in"
    result = ran["vtt"]
    assert result.returncode == 1
    assert one_error_line(result.stderr).startswith(f"asr: {folder / 'a.wav'}: cannot write {tmp_path / 'out' / 'a.vtt'}")
    webvtt.read(str(tmp_path / "out" / "b.vtt"))  # parses
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.vtt", "b.vtt"]  # no temporary file left


def usage_mistakes(good, tmp_path) -> dict:
    """arguments: the one line"""
    return {
        ("--format", "srt", tmp_path / "in"): "--format srt makes one document per input: give -o DIR for 2 inputs",
        ("--json", "--format", "vtt", good): "--json is --format json: give one of --json and --format vtt",
        ("-o", tmp_path / "o2", tmp_path / "in" / "x", tmp_path / "in" / "y"):
            f"{tmp_path / 'in/x/same.wav'} and {tmp_path / 'in/y/same.wav'} would both be written to "
            f"{tmp_path / 'o2/same.txt'}",
        ("-", "-"): "- (standard input) can be read only once",
    }


def mirror_commands(bundle, good, tmp_path):
    for sub in ("x", "y"):
        (tmp_path / "in" / sub).mkdir(parents=True)
        (tmp_path / "in" / sub / "same.wav").write_bytes(good.read_bytes())
    return {"mirror": (["transcribe", "--model", bundle, "-o", tmp_path / "out", tmp_path / "in"], None),
            **{args: (["transcribe", "--model", bundle, *args], b"") for args in usage_mistakes(good, tmp_path)}}


def test_outputs_mirror_the_directories_given_and_usage_mistakes_are_refused(good, runs):
    ran, tmp_path = runs["mirror"]
    result = ran["mirror"]
    assert result.returncode == 0, result.stderr
    assert sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*.txt")) == [
        "x/same.txt", "y/same.txt"]
    for args, message in usage_mistakes(good, tmp_path).items():
        result = ran[args]
        assert result.returncode == 2 and one_error_line(result.stderr) == f"asr: error: {message}", args


@pytest.fixture(scope="module")
def runs(overfit_bundle, recording, random_bundle, good, tmp_path_factory):
    """Each test's commands, run in one `asr` process: {test: ({name: what it did}, the test's folder)}."""
    bundle, _ = overfit_bundle
    path, _ = recording
    root = tmp_path_factory.mktemp("runs")
    inputs = {"subtitles": (subtitles_commands, bundle, path), "formats": (formats_commands, bundle, path),
              "stdin": (stdin_commands, bundle, path), "bad stdin": (bad_stdin_commands, random_bundle, good),
              "unwritable": (unwritable_commands, random_bundle, good),
              "blocked output": (blocked_output_commands, random_bundle, good),
              "mirror": (mirror_commands, random_bundle, good)}
    folders = {test: root / test.replace(" ", "_") for test in inputs}
    commands = {}
    for test, (make, model, audio) in inputs.items():
        folders[test].mkdir()
        commands.update({(test, name): command for name, command in make(model, audio, folders[test]).items()})
    ran = dict(zip(commands, run_asr_commands(commands.values(), root / "asr")))
    return {test: ({name: ran[test, name] for t, name in commands if t == test}, folders[test]) for test in inputs}
