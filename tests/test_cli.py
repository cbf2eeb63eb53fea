"""`asr transcribe` and `asr evaluate` on real audio with a model trained in the test.

The checks of `asr` commands that need no other command's output run in one `asr` process
(tests/asr_in_one_process.py: each command with its own stdout, stderr and exit status), started once by the
`runs` fixture: TensorFlow is imported once, not once a command. Each test builds its inputs in a `*_commands`
function the fixture calls, and checks what its commands did.
"""

import json
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from asr.audio.io import resample
from asr.metrics import character_error_rate
from tests.asr_in_one_process import run_asr_commands
from tests.conftest import REPO

pytestmark = pytest.mark.slow


def asr(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "asr.app.cli", *map(str, args)], cwd=cwd, capture_output=True,
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


def test_help_for_every_command(tmp_path):
    for result in run_asr_commands([(args, None) for args in (["--help"], ["transcribe", "--help"],
                                                               ["evaluate", "--help"])], tmp_path):
        assert result.returncode == 0 and "usage: asr" in result.out


VARIANTS = ("8k.wav", "22k.wav", "44k.wav", "stereo.wav", "float.wav", "8bit.wav", "audio.flac")


def variants_commands(bundle, originals, tmp_path):
    source, _ = originals[0]
    audio, rate = sf.read(source, dtype="float32")
    # Lossy variants are compared with the 16 kHz 16-bit file of the same information:
    # 8 kHz keeps nothing above 4 kHz, so its counterpart is the same band-limited signal
    narrowband = resample(audio, rate, 8000)
    sf.write(tmp_path / "narrowband16k.wav", resample(narrowband, 8000, rate), rate, subtype="FLOAT")
    # 8-bit keeps 256 levels, so its 16-bit counterpart holds the same levels
    sf.write(tmp_path / "levels16bit.wav", np.round(audio * 128) / 128, rate, subtype="PCM_16")
    variants = dict(zip(VARIANTS, [
        (narrowband, 8000, "FLOAT"),
        (resample(audio, rate, 22050), 22050, "PCM_16"),
        (resample(audio, rate, 44100), 44100, "PCM_16"),
        (np.stack([audio, audio], axis=1), rate, "PCM_16"),
        (audio, rate, "FLOAT"),
        (audio, rate, "PCM_U8"),
        (audio, rate, "PCM_16"),
    ]))
    for name, (data, variant_rate, subtype) in variants.items():
        sf.write(tmp_path / name, data, variant_rate, subtype=subtype)
    return {"all": ["transcribe", "--model", bundle, source, tmp_path / "narrowband16k.wav",
                    tmp_path / "levels16bit.wav", *[tmp_path / n for n in variants]]}


def test_any_rate_channels_depth_and_format_give_the_same_text(originals, runs):
    ran, tmp_path = runs["variants"]
    source, text = originals[0]
    result = ran["all"]
    assert result.returncode == 0, result.stderr
    texts = dict(line.split("\t", 1) for line in result.out.splitlines())
    original = texts.pop(str(source))
    assert character_error_rate([text], [original]) < 0.35, (text, original)  # the model really learnt it
    # Same information, but libsndfile's and numpy's rounding to 256 levels (and the two resampling
    # paths) can differ by one level in a few samples: a tiny overfitted model may then flip a letter.
    for lossy, counterpart in (("8k.wav", "narrowband16k.wav"), ("8bit.wav", "levels16bit.wav")):
        a, b = texts[str(tmp_path / lossy)], texts[str(tmp_path / counterpart)]
        assert character_error_rate([b], [a]) <= 0.15, (lossy, a, b)
    for name in VARIANTS:
        if name not in ("8k.wav", "8bit.wav"):
            assert texts[str(tmp_path / name)] == original, name


def directory_commands(bundle, originals, tmp_path):
    folder = tmp_path / "in" / "nested"
    folder.mkdir(parents=True)
    for k, (source, _) in enumerate(originals[:2]):
        (folder / f"good{k}.wav").write_bytes(source.read_bytes())
    (folder / "corrupt.wav").write_bytes(b"RIFF\x00\x00garbage" * 10)
    sf.write(folder / "empty.wav", np.zeros(0, np.float32), 16000)
    return {"in": ["transcribe", "--model", bundle, tmp_path / "in"]}


def test_directory_with_corrupt_and_empty_files_transcribes_the_rest(runs):
    result = runs["directory"][0]["in"]
    assert result.returncode == 1
    assert sorted(line.split("\t")[0].rsplit("/", 1)[1] for line in result.out.splitlines()) == [
        "good0.wav", "good1.wav"]
    errors = [line for line in result.err.splitlines() if line.startswith("asr: ")]
    assert any("corrupt.wav: unreadable audio" in e for e in errors)
    assert any("empty.wav: empty audio" in e for e in errors)


def json_commands(bundle, originals, tmp_path):
    return {"json": ["transcribe", "--json", "--model", bundle, originals[1][0]]}


def test_json_lines_have_text_times_and_alignment(overfit_bundle, originals, runs):
    source, _ = originals[1]
    record = json.loads(runs["json"][0]["json"].out)
    assert set(record) == {"path", "text", "duration", "seconds", "chars", "words", "model"}
    assert record["model"] == str(overfit_bundle[0])  # the bundle given with --model
    assert record["duration"] == pytest.approx(sf.info(str(source)).duration, abs=0.01)
    assert "".join(c["char"] for c in record["chars"]) == record["text"]
    assert [w["word"] for w in record["words"]] == record["text"].split()
    starts = [c["start"] for c in record["chars"]]
    assert starts == sorted(starts) and 0 <= starts[0] and starts[-1] <= record["duration"]
    assert all(w["start"] < w["end"] for w in record["words"])


def raw_commands(bundle, originals, tmp_path):
    source, _ = originals[0]
    audio, rate = sf.read(source, dtype="int16")
    (tmp_path / "speech.raw").write_bytes(audio.astype("<i2").tobytes())
    return {"wav": ["transcribe", "--model", bundle, source],
            "raw": ["transcribe", "--model", bundle, "--raw-rate", rate, tmp_path / "speech.raw"]}


def test_raw_pcm_input(runs):
    ran, _ = runs["raw"]
    wav = ran["wav"].out.split("\t")[1]
    raw = ran["raw"]
    assert raw.returncode == 0, raw.stderr
    assert raw.out.split("\t")[1] == wav


def test_evaluate_manifest_with_hand_computable_errors(overfit_bundle, originals, runs, tmp_path):
    bundle, _ = overfit_bundle
    source, _ = originals[0]
    hypothesis = runs["raw"][0]["wav"].out.split("\t")[1].strip()  # `asr transcribe --model bundle source`
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


def missing_model_commands(bundle, originals, tmp_path):
    return {"nope": ["transcribe", "--model", tmp_path / "nope", tmp_path / "x.wav"]}


def test_missing_model_is_a_clear_error(runs):
    result = runs["missing model"][0]["nope"]
    assert result.returncode == 2
    assert "model bundle not found" in result.err and "Traceback" not in result.err


def transcribe_measuring_memory(path, bundle_dir):
    """(transcript, peak bytes of Python and numpy allocations) for one file, through the CLI's Transcriber."""
    from asr.bundle import load_bundle
    from asr.app.transcribe import Transcriber

    transcriber = Transcriber(load_bundle(bundle_dir), chunk_seconds=10)
    transcriber.transcribe(path)  # compile the graph first: not part of what is measured
    tracemalloc.start()
    transcript = transcriber.transcribe(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return transcript.__dict__, peak


def test_long_recording_is_chunked_with_flat_memory(overfit_bundle, originals, tmp_path):
    bundle, _ = overfit_bundle
    pieces = []
    for source, _ in originals:
        audio, rate = sf.read(source, dtype="float32")
        grid = int(0.02 * rate)  # utterances start on the chunker's 20 ms grid: every round is cut alike
        pieces += [np.pad(audio, (0, -len(audio) % grid)), np.zeros(25 * grid, np.float32)]
    one_round = np.concatenate(pieces)
    round_seconds = len(one_round) / rate
    rounds = int(np.ceil(120 / round_seconds))  # two minutes, then eight times that
    records, peaks = {}, {}
    for factor in (1, 8):
        path = tmp_path / f"long{factor}.wav"
        sf.write(path, np.tile(one_round, rounds * factor), rate, subtype="PCM_16")
        records[factor], peaks[factor] = transcribe_measuring_memory(path, bundle)
    long = records[8]
    assert long["duration"] == pytest.approx(8 * rounds * round_seconds, abs=0.02)
    # The same audio every round, so the same words every round: nothing lost, doubled or
    # garbled at the 10 s cuts, and word times land in the right round, to the end of the file.
    by_round = [[] for _ in range(8 * rounds)]
    for word in long["words"]:
        by_round[int((word["start"] + word["end"]) / 2 // round_seconds)].append(word["word"])
    assert by_round[0] and all(words == by_round[0] for words in by_round), by_round
    assert " ".join(" ".join(words) for words in by_round) == long["text"]
    # Loaded whole, the 14 extra minutes would take 54 MB as float32 (and their features more);
    # read block by block, peak memory does not grow with the length of the recording.
    extra_bytes = 7 * len(one_round) * rounds * 4
    assert peaks[8] - peaks[1] < extra_bytes / 10, peaks


def test_batched_transcription_equals_one_file_at_a_time_in_input_order(overfit_bundle, originals, tmp_path):
    from asr.bundle import load_bundle
    from asr.errors import AudioError
    from asr.app.transcribe import Transcriber

    bundle = load_bundle(overfit_bundle[0])
    audio = [sf.read(source, dtype="float32")[0] for source, _ in originals]
    silence = np.zeros(8000, np.float32)
    # A recording longer than chunk_seconds=10, cut into pieces, among short files and two bad ones.
    sf.write(tmp_path / "long.wav", np.concatenate([a for _ in range(4) for a in (*audio, silence)]), 16000)
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x00garbage" * 10)
    sf.write(tmp_path / "silent.wav", silence, 16000)
    paths = [originals[0][0], tmp_path / "corrupt.wav", tmp_path / "long.wav", originals[1][0],
             tmp_path / "silent.wav", originals[2][0]]
    one_at_a_time = Transcriber(bundle, chunk_seconds=10, batch_size=1)
    long = tmp_path / "long.wav"
    assert len(list(one_at_a_time.pieces(long, one_at_a_time.duration(long)))) >= 4  # several pieces to batch
    expected = []
    for path in paths:
        try:
            expected.append(one_at_a_time.transcribe(path))
        except AudioError as exc:
            expected.append(str(exc))
    batched = list(Transcriber(bundle, chunk_seconds=10, batch_size=4).transcribe_many(paths))
    assert [path for path, _ in batched] == [Path(p) for p in paths]
    got = [str(r) if isinstance(r, AudioError) else r for _, r in batched]
    assert isinstance(got[1], str) and "unreadable" in got[1] and "silent" in got[4]
    for want, have in zip(expected, got):
        if isinstance(want, str):
            assert have == want
        else:  # padding is masked: the same text and times, whatever else shares the batch
            assert (have.text, have.chars, have.words, have.duration) == (want.text, want.chars, want.words,
                                                                          want.duration)
    # The long file really was transcribed, piece by piece: four times the three files' texts (a piece cut
    # among others reads differently at its edges, so this is a CER, not an equality: the tiny model reads the
    # long file at about 0.35 against its short ones, and one piece alone would be 0.75).
    four_times = " ".join([got[0].text, got[3].text, got[5].text] * 4)
    assert character_error_rate([four_times], [got[2].text]) < 0.5, (four_times, got[2].text)  # one piece: 0.75


def broken_bundle_commands(bundle, originals, tmp_path):
    source, _ = originals[0]
    broken = tmp_path / "broken"
    shutil.copytree(bundle, broken)
    vocab = json.loads((broken / "vocab.json").read_text())
    vocab["tokens"] = vocab["tokens"][:-3]  # three characters fewer than the model outputs
    (broken / "vocab.json").write_text(json.dumps(vocab))
    without_cmvn = tmp_path / "without_cmvn"  # the same, then cmvn.json removed
    shutil.copytree(broken, without_cmvn)
    (without_cmvn / "cmvn.json").unlink()
    return {"broken": ["transcribe", "--model", broken, source],
            "without cmvn": ["transcribe", "--model", without_cmvn, source]}


def test_inconsistent_or_incomplete_bundle_is_refused(runs):
    ran, _ = runs["broken bundle"]
    result = ran["broken"]
    assert result.returncode == 2 and "Traceback" not in result.err
    assert "model outputs 29 classes but vocab.json has 26" in result.err
    result = ran["without cmvn"]
    assert "incomplete model bundle, cmvn.json is missing" in result.err


def domain_lm_commands(bundle, originals, tmp_path):
    domain = tmp_path / "domain.txt"
    domain.write_text("".join(f"{text}\n" for _, text in originals))
    return {"lm": ["transcribe", "--model", bundle, "--decode", "lm", "--lm-text", domain, *[p for p, _ in originals]]}


def test_decode_lm_with_a_domain_text_spells_its_words(originals, runs):
    # The LM built from the user's text (the three references) can only output their words; the
    # overfitted model's acoustics pick the right sentence for each file.
    result = runs["domain lm"][0]["lm"]
    assert result.returncode == 0, result.stderr
    assert [line.split("\t")[1] for line in result.out.splitlines()] == [text for _, text in originals]
    assert "Reading" not in result.err  # KenLM's progress bar is kept off the terminal


def no_lm_commands(bundle, originals, tmp_path):
    return {"lm dir": ["transcribe", "--model", bundle, "--decode", "lm", "--lm-dir", tmp_path, originals[0][0]],
            "lm alone": ["transcribe", "--model", bundle, "--decode", "lm", "--lm", tmp_path / "x.arpa",
                         originals[0][0]]}


def test_decode_lm_without_a_language_model_is_one_clear_line(runs):
    ran, tmp_path = runs["no lm"]
    result = ran["lm dir"]
    assert result.returncode == 2
    assert result.err.strip() == (f"asr: error: {tmp_path}: no language model (words.arpa, lexicon.txt missing; "
                                  f"run the `lm` stage)")
    result = ran["lm alone"]
    assert result.returncode == 2 and "--lm and --lexicon go together" in result.err


@pytest.fixture(scope="module")
def runs(overfit_bundle, originals, tmp_path_factory):
    """Each test's `asr` commands, run in one process: {test: ({name: what it did}, the test's folder)}."""
    bundle, _ = overfit_bundle
    root = tmp_path_factory.mktemp("runs")
    # The checks of a whole stderr first, while nothing but the command line module is imported, as in a process
    # of their own: a warning Python shows once a process cannot have been used up by an earlier command.
    makers = {"missing model": missing_model_commands, "no lm": no_lm_commands, "variants": variants_commands,
              "directory": directory_commands, "json": json_commands, "raw": raw_commands,
              "broken bundle": broken_bundle_commands, "domain lm": domain_lm_commands}
    folders = {test: root / test.replace(" ", "_") for test in makers}
    commands = {}
    for test, make in makers.items():
        folders[test].mkdir()
        commands.update({(test, name): (args, None) for name, args in make(bundle, originals, folders[test]).items()})
    ran = dict(zip(commands, run_asr_commands(commands.values(), root / "asr")))
    return {test: ({name: ran[test, name] for t, name in commands if t == test}, folders[test]) for test in makers}
