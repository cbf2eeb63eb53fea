"""The eSpeak NG synthetic corpus: reproducible, speaker- and sentence-disjoint, clean labels."""

import hashlib
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from omegaconf import OmegaConf

from asr.corpus.common import MANIFEST_COLUMNS, SPLITS, Rejection
from asr.corpus.engines.espeak import EspeakSynth, case_folded_data, espeak_paths
from asr.corpus.sentences import frequent_words, is_clean_word, make_sentences
from asr.corpus.synthetic import (
    TRIM_THRESHOLD_DB,
    SyntheticSettings,
    UtteranceJob,
    assign_voices,
    available_voices,
    render_utterance,
    synthesise_corpus,
)
from asr.errors import UserError

CONF = Path(__file__).resolve().parents[1] / "conf" / "data" / "synthetic.yaml"


def small_settings(**overrides) -> SyntheticSettings:
    """The real conf/data/synthetic.yaml, shrunk to a few utterances."""
    data = OmegaConf.to_container(OmegaConf.load(CONF))
    data.update(num_utterances=30, workers=1)
    data.update(overrides)
    return SyntheticSettings.from_config(data)


def wav_bytes(out_dir: Path) -> dict[str, bytes]:
    return {p.relative_to(out_dir).as_posix(): p.read_bytes() for p in sorted(out_dir.rglob("*.wav"))}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same small corpus three times: twice with 2 workers, once in-process."""
    settings = small_settings()
    results = {}
    for name, workers in [("first", 2), ("second", 2), ("serial", 1)]:
        out_dir = tmp_path_factory.mktemp(name)
        rows, rejected = synthesise_corpus(out_dir, replace(settings, workers=workers))
        results[name] = (out_dir, rows, rejected)
    return results


@pytest.fixture(scope="module")
def corpus(runs):
    return runs["first"]


def test_same_settings_give_byte_identical_corpus(runs):
    (dir_a, rows_a, rej_a), (dir_b, rows_b, rej_b) = runs["first"], runs["second"]
    assert rows_a == rows_b and rej_a == rej_b
    files_a, files_b = wav_bytes(dir_a), wav_bytes(dir_b)
    assert len(files_a) == 30 and files_a == files_b


def test_worker_count_does_not_change_output(runs):
    (dir_a, rows_a, _), (dir_s, rows_s, _) = runs["first"], runs["serial"]
    assert rows_a == rows_s
    assert wav_bytes(dir_a) == wav_bytes(dir_s)


def test_espeak_output_does_not_depend_on_what_was_spoken_before():
    synth = EspeakSynth()
    alone, _ = synth.synthesise("water under the bridge", "en-us+f5", 170, 60, seed=3)
    synth.synthesise("something else entirely first", "en-029+klatt", 150, 20, seed=9)
    again, _ = synth.synthesise("water under the bridge", "en-us+f5", 170, 60, seed=3)
    assert alone.size > 0 and np.array_equal(alone, again)


def test_rows_have_manifest_columns_and_sorted_order(corpus):
    _, rows, rejected = corpus
    assert rejected == []
    assert all(list(row) == MANIFEST_COLUMNS for row in rows)
    assert rows == sorted(rows, key=lambda r: (SPLITS.index(r["split"]), r["id"]))
    assert all(re.fullmatch(r"syn-\d{6}", r["id"]) for r in rows)
    assert all(r["path"] == f"audio/{r['split']}/{r['id']}.wav" for r in rows)


def test_every_split_is_nonempty_with_expected_sizes(corpus):
    _, rows, _ = corpus
    counts = {split: sum(r["split"] == split for r in rows) for split in SPLITS}
    assert counts == {"train": 26, "dev": 2, "test": 2}  # 30 * 0.05 rounds to 2


def test_speakers_are_disjoint_between_splits(corpus):
    _, rows, _ = corpus
    speakers = {split: {r["speaker"] for r in rows if r["split"] == split} for split in SPLITS}
    assert speakers["train"] and speakers["dev"] and speakers["test"]
    assert not speakers["train"] & speakers["dev"]
    assert not speakers["train"] & speakers["test"]
    assert not speakers["dev"] & speakers["test"]


def test_held_out_voices_are_never_given_to_train():
    # With many utterances every train voice gets used; none may be a held-out one.
    settings = small_settings()
    voices = available_voices(EspeakSynth())
    split_voices = assign_voices(voices, settings)
    assert len(split_voices["dev"]) == settings.dev_voices and len(split_voices["test"]) == settings.test_voices
    assert not set(split_voices["train"]) & (set(split_voices["dev"]) | set(split_voices["test"]))
    assert not set(split_voices["dev"]) & set(split_voices["test"])
    assert sorted(sum(split_voices.values(), ())) == sorted(voices)
    assert assign_voices(voices, replace(settings, seed=1)) != split_voices  # chosen by the seed


def test_dev_and_test_sentences_never_occur_in_train(corpus):
    _, rows, _ = corpus
    texts = {split: [r["text"] for r in rows if r["split"] == split] for split in SPLITS}
    assert not set(texts["train"]) & (set(texts["dev"]) | set(texts["test"]))
    assert len(set(sum(texts.values(), []))) == len(rows)  # all distinct


def test_text_is_lowercase_letters_spaces_and_apostrophes(corpus):
    _, rows, _ = corpus
    for row in rows:
        assert re.fullmatch(r"[a-z']+( [a-z']+)*", row["text"]), row["text"]


def test_written_files_are_mono_16_bit_at_the_sample_rate(corpus):
    out_dir, rows, _ = corpus
    for row in rows:
        info = sf.info(str(out_dir / row["path"]))
        assert (info.samplerate, info.channels, info.subtype, info.format) == (16000, 1, "PCM_16", "WAV")


def test_row_durations_match_the_files(corpus):
    out_dir, rows, _ = corpus
    for row in rows:
        info = sf.info(str(out_dir / row["path"]))
        assert row["duration"] == pytest.approx(info.frames / info.samplerate, abs=1e-4)
        assert 0.3 < row["duration"] < 10


def test_silence_is_trimmed_to_a_short_margin(corpus):
    out_dir, rows, _ = corpus
    clean_rows = [r for r in rows if _peak(out_dir / r["path"], 0.09) < 1e-3]  # silent first 90 ms
    assert clean_rows, "expected some noise-free utterances with a silent margin"
    for row in clean_rows:
        audio, rate = sf.read(str(out_dir / row["path"]))
        loud = np.flatnonzero(np.abs(audio) > 10 ** (TRIM_THRESHOLD_DB / 20) * np.abs(audio).max())
        assert 0.09 <= loud[0] / rate <= 0.11
        assert 0.09 <= (len(audio) - 1 - loud[-1]) / rate <= 0.11


def test_noise_is_added_at_the_configured_snr(tmp_path):
    settings = small_settings(num_utterances=20)
    clean_rows, _ = synthesise_corpus(tmp_path / "clean", replace(settings, noise_fraction=0.0))
    noisy_rows, _ = synthesise_corpus(tmp_path / "noisy", replace(settings, noise_fraction=1.0))
    # Noise changes nothing else: same sentences, voices and lengths.
    assert [(r["text"], r["speaker"], r["duration"]) for r in clean_rows] == [
        (r["text"], r["speaker"], r["duration"]) for r in noisy_rows
    ]
    for row in clean_rows:
        clean, _ = sf.read(str(tmp_path / "clean" / row["path"]))
        noisy, _ = sf.read(str(tmp_path / "noisy" / row["path"]))
        assert not np.array_equal(clean, noisy)
        gain = np.dot(noisy, clean) / np.dot(clean, clean)  # a peak limiter may have scaled it
        noise = noisy - gain * clean
        snr_db = 10 * np.log10(np.sum((gain * clean) ** 2) / np.sum(noise**2))
        assert snr_db == pytest.approx(settings.noise_snr_db, abs=1.0)


def test_at_least_40_distinct_voices():
    with case_folded_data(espeak_paths()[1]) as data_path:
        synth = EspeakSynth(data_path)
        voices = available_voices(synth)
        assert len(voices) >= 40 and len(set(voices)) == len(voices)
        # Each name must really change the sound (eSpeak ignores an unknown variant).
        sounds = {_digest(synth.synthesise("three red birds", voice, 175, 50)[0]) for voice in voices}
    assert len(sounds) == len(voices)


def test_unknown_voice_is_a_user_error():
    synth = EspeakSynth()
    with pytest.raises(UserError, match="no variant 'nosuchvariant'"):
        synth.synthesise("hello", "en-us+nosuchvariant", 175, 50)
    with pytest.raises(UserError, match="no language 'xx-nowhere'"):
        synth.synthesise("hello", "xx-nowhere", 175, 50)


def test_silent_utterance_is_rejected_not_written(tmp_path):
    job = UtteranceJob(index=0, id="syn-000000", split="train", text="", voices=("en-us+m1",))
    result = render_utterance(job, small_settings(), EspeakSynth(), tmp_path)
    assert isinstance(result, Rejection) and "silent" in result.reason
    assert not list(tmp_path.rglob("*.wav"))


def test_sentences_are_distinct_and_deterministic():
    words = frequent_words(300)
    first = make_sentences(words, 200, (1, 3), seed=5)
    assert first == make_sentences(words, 200, (1, 3), seed=5)
    assert first != make_sentences(words, 200, (1, 3), seed=6)
    assert len(set(first)) == 200
    assert all(1 <= len(s.split()) <= 3 and set(s.split()) <= set(words) for s in first)


def test_word_list_keeps_only_clean_words():
    assert [w for w in ["the", "don't", "u.s", "3", "'s", "x", "a", "mr", "ok", "café"] if is_clean_word(w)] == [
        "the", "don't", "a",
    ]  # fmt: skip
    words = frequent_words(1500)
    assert 1400 < len(words) <= 1500 and "the" in words


def test_impossible_sentence_count_is_a_user_error():
    with pytest.raises(UserError, match="distinct sentences"):
        make_sentences(["yes", "no"], 10, (1, 1), seed=0)


def test_settings_reject_bad_values():
    with pytest.raises(UserError, match="data.num_utterances must be > 0, got 0"):
        small_settings(num_utterances=0)
    with pytest.raises(UserError, match="unknown data keys"):
        small_settings(colour="blue")


def _digest(audio: np.ndarray) -> str:
    return hashlib.sha256(audio.tobytes()).hexdigest()


def _peak(path: Path, seconds: float) -> float:
    audio, rate = sf.read(str(path), frames=int(seconds * 16000))
    return float(np.max(np.abs(audio)))
