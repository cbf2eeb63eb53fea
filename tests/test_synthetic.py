"""The synthetic corpus: several engines, a held-out engine, augmentation; reproducible and disjoint."""

import hashlib
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from omegaconf import OmegaConf

from asr.corpus.common import MANIFEST_COLUMNS, SPLITS, Rejection
from asr.corpus.engines import open_engine
from asr.corpus.engines.espeak import EspeakSynth
from asr.corpus.sentences import frequent_words, is_clean_word, make_sentences
from asr.corpus.synthetic import (
    TRIM_THRESHOLD_DB,
    SyntheticSettings,
    UtteranceJob,
    assign_voices,
    pick_voice,
    render_utterance,
    synthesise_corpus,
)
from asr.errors import UserError
from asr.text.normalise import normalise_text

CONF = Path(__file__).resolve().parents[1] / "conf" / "data" / "synthetic.yaml"


def small_settings(**overrides) -> SyntheticSettings:
    """The real conf/data/synthetic.yaml shrunk to a few utterances and the three pip engines (piper held out):
    with six test utterances, five engines would leave the held-out one out of test by chance."""
    data = OmegaConf.to_container(OmegaConf.load(CONF))
    data.update(num_utterances=30, workers=1, test_fraction=0.2, engines=["espeak", "hibari", "piper"])
    data.update(overrides)
    return SyntheticSettings.from_config(data)


def wav_bytes(out_dir: Path) -> dict[str, bytes]:
    return {p.relative_to(out_dir).as_posix(): p.read_bytes() for p in sorted(out_dir.rglob("*.wav"))}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same small corpus three times: twice with 2 workers, once in-process; and once unaugmented."""
    settings = small_settings()
    results = {}
    for name, changed in [("first", dict(workers=2)), ("second", dict(workers=2)), ("serial", {}),
                          ("unaugmented", dict(augment_splits=()))]:
        out_dir = tmp_path_factory.mktemp(name)
        rows, rejected = synthesise_corpus(out_dir, replace(settings, **changed))
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








def test_dev_and_test_sentences_never_occur_in_train(corpus):
    _, rows, _ = corpus
    texts = {split: [r["text"] for r in rows if r["split"] == split] for split in SPLITS}
    assert not set(texts["train"]) & (set(texts["dev"]) | set(texts["test"]))
    assert len(set(sum(texts.values(), []))) == len(rows)  # all distinct




def test_written_files_are_mono_16_bit_at_the_sample_rate(corpus):
    out_dir, rows, _ = corpus
    for row in rows:
        info = sf.info(str(out_dir / row["path"]))
        assert (info.samplerate, info.channels, info.subtype, info.format) == (16000, 1, "PCM_16", "WAV")










def test_unknown_voice_is_a_user_error():
    synth = EspeakSynth()
    with pytest.raises(UserError, match="no variant 'nosuchvariant'"):
        synth.synthesise("hello", "en-us+nosuchvariant", 175, 50)
    with pytest.raises(UserError, match="no language 'xx-nowhere'"):
        synth.synthesise("hello", "xx-nowhere", 175, 50)




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


def test_max_word_rank_keeps_wordnet_sentences_of_frequent_words_only():
    from asr.corpus.synthetic import sentence_pool

    known = set(frequent_words(3000))
    common = sentence_pool(small_settings(num_utterances=300, max_word_rank=3000))
    assert len(set(common)) == 300 and all(set(normalise_text(s).split()) <= known for s in common)
    anything = sentence_pool(small_settings(num_utterances=300, max_word_rank=None))
    assert sum(not set(normalise_text(s).split()) <= known for s in anything) > 100  # control: rare words abound
    with pytest.raises(UserError, match=r"^only \d+ WordNet sentences of \[5, 20\] words within the 2000 most "
                                        r"frequent words; data.num_utterances is 20000$"):
        sentence_pool(small_settings(num_utterances=20000, max_word_rank=2000))
    with pytest.raises(UserError, match="data.max_word_rank must be null or >= 1, got 0"):
        small_settings(max_word_rank=0)


def test_engine_weights_set_each_engines_share_and_no_weights_keep_the_old_draw():
    pairs = (("espeak", "en"), ("espeak", "en-us"), ("hibari", "heart"))
    rngs = [np.random.default_rng(i) for i in range(4000)]
    plain = [pick_voice(pairs, {}, rng) for rng in rngs]
    # Unweighted: the draw corpora were made with before weights existed (engine, then voice).
    for i in (0, 1, 2, 3):
        rng = np.random.default_rng(i)
        engine = ["espeak", "hibari"][int(rng.integers(2))]
        voices = ["en", "en-us"] if engine == "espeak" else ["heart"]
        assert plain[i] == (engine, voices[int(rng.integers(len(voices)))])
    # Equal weights are the unweighted draw; hibari x3 speaks 3/4 of the utterances (4000 draws: sd 0.007)
    assert [pick_voice(pairs, {"hibari": 2, "espeak": 2}, np.random.default_rng(i)) for i in range(4000)] == plain
    assert abs(np.mean([e == "hibari" for e, _ in plain]) - 0.5) < 0.03
    weighted = [pick_voice(pairs, {"hibari": 3}, np.random.default_rng(i)) for i in range(4000)]
    assert abs(np.mean([e == "hibari" for e, _ in weighted]) - 0.75) < 0.03
    with pytest.raises(UserError, match=r"data.engine_weights.hibari must be > 0, got 0.0"):
        small_settings(engine_weights={"hibari": 0})
    with pytest.raises(UserError, match=r"data.engine_weights: not one of data.engines, got flite"):
        small_settings(engine_weights={"flite": 2})


def test_impossible_sentence_count_is_a_user_error():
    with pytest.raises(UserError, match="distinct sentences"):
        make_sentences(["yes", "no"], 10, (1, 1), seed=0)


def test_settings_reject_bad_values():
    with pytest.raises(UserError, match="data.num_utterances must be > 0, got 0"):
        small_settings(num_utterances=0)
    with pytest.raises(UserError, match="unknown data keys"):
        small_settings(colour="blue")
    with pytest.raises(UserError, match="data.augment.noise_snr_db must be"):
        small_settings(augment=dict(noise_snr_db=[30, 10]))


def test_every_split_is_nonempty_with_expected_sizes(corpus):
    _, rows, _ = corpus
    counts = {split: sum(r["split"] == split for r in rows) for split in SPLITS}
    assert counts == {"train": 22, "dev": 2, "test": 6}  # 30 * 0.05 rounds to 2, 30 * 0.2 = 6


def test_the_held_out_engine_speaks_only_in_test(corpus):
    _, rows, _ = corpus
    engines = {split: {r["engine"] for r in rows if r["split"] == split} for split in SPLITS}
    assert "piper" in engines["test"]
    assert "piper" not in engines["train"] | engines["dev"]
    assert engines["train"] == {"espeak", "hibari"}
    assert all(r["speaker"].startswith(r["engine"] + ":") for r in rows)


def test_espeak_voices_are_disjoint_between_splits_and_one_voice_engines_are_shared():
    settings = small_settings()
    engine_voices = {"espeak": [f"v{i}" for i in range(20)], "hibari": ["heart"], "piper": ["joe"]}
    split_voices = assign_voices(engine_voices, settings)
    espeak = {split: {v for e, v in split_voices[split] if e == "espeak"} for split in SPLITS}
    assert (len(espeak["dev"]), len(espeak["test"]), len(espeak["train"])) == (4, 4, 12)
    assert not espeak["train"] & (espeak["dev"] | espeak["test"]) and not espeak["dev"] & espeak["test"]
    assert all(("hibari", "heart") in split_voices[split] for split in SPLITS)
    assert [split for split in SPLITS if ("piper", "joe") in split_voices[split]] == ["test"]
    assert assign_voices(engine_voices, replace(settings, seed=1)) != split_voices  # chosen by the seed
    no_heldout = assign_voices(engine_voices, replace(settings, heldout_engine=None))
    assert ("piper", "joe") in no_heldout["train"]


@pytest.mark.parametrize("voice", ["kal", "kal16", "slt", "cmu_us_slt_arctic", "kal_diphone"])
def test_a_reserved_voice_is_refused_as_a_corpus_voice(voice):
    with pytest.raises(UserError, match="reserved for outside evaluation"):
        assign_voices({"flite": ["awb", voice]}, small_settings(engines=["flite"], heldout_engine=None))


def test_sentences_normalise_to_the_label_alphabet(corpus):
    _, rows, _ = corpus
    for row in rows:
        assert re.fullmatch(r"[a-z']+( [a-z']+)*", normalise_text(row["text"])), row["text"]
        assert 5 <= len(normalise_text(row["text"]).split()) <= 20


def test_row_durations_match_the_files(corpus):
    out_dir, rows, _ = corpus
    for row in rows:
        info = sf.info(str(out_dir / row["path"]))
        assert row["duration"] == pytest.approx(info.frames / info.samplerate, abs=1e-4)
        assert 0.5 < row["duration"] <= 15


def test_augmentation_changes_only_the_train_audio(runs):
    (dir_a, rows_a, _), (dir_u, rows_u, _) = runs["first"], runs["unaugmented"]
    assert [(r["text"], r["speaker"]) for r in rows_a] == [(r["text"], r["speaker"]) for r in rows_u]
    for row_a, row_u in zip(rows_a, rows_u):
        same = (dir_a / row_a["path"]).read_bytes() == (dir_u / row_u["path"]).read_bytes()
        assert same == (row_a["split"] != "train"), row_a["id"]


def test_silence_is_trimmed_to_a_short_margin(runs):
    out_dir, rows, _ = runs["unaugmented"]
    for row in rows:
        audio, rate = sf.read(str(out_dir / row["path"]))
        loud = np.flatnonzero(np.abs(audio) > 10 ** (TRIM_THRESHOLD_DB / 20) * np.abs(audio).max())
        assert 0.08 <= loud[0] / rate <= 0.12, row["speaker"]
        assert 0.08 <= (len(audio) - 1 - loud[-1]) / rate <= 0.12, row["speaker"]


def test_too_long_renderings_are_rejected_with_the_reason(tmp_path):
    rows, rejected = synthesise_corpus(tmp_path, small_settings(num_utterances=12, max_seconds=1.0,
                                                                engines=["espeak"], heldout_engine=None))
    assert all(r["duration"] <= 1.0 for r in rows)
    assert rejected and all("longer than data.max_seconds (1.0)" in r.reason for r in rejected)


def test_at_least_40_distinct_espeak_voices():
    engine = open_engine("espeak", {})
    try:
        voices = engine.voices()
        assert len(voices) >= 40 and len(set(voices)) == len(voices)
        # Each name must really change the sound (eSpeak ignores an unknown variant).
        sounds = {_digest(engine.synth.synthesise("three red birds", voice, 175, 50)[0]) for voice in voices}
    finally:
        engine.close()
    assert len(sounds) == len(voices)


def test_silent_utterance_is_rejected_not_written(tmp_path):
    job = UtteranceJob(index=0, id="syn-000000", split="train", text="", voices=(("espeak", "en-us+m1"),))
    engine = open_engine("espeak", {})
    try:
        result = render_utterance(job, small_settings(), {"espeak": engine}, tmp_path)
    finally:
        engine.close()
    assert isinstance(result, Rejection) and "silent" in result.reason
    assert not list(tmp_path.rglob("*.wav"))


def test_engine_settings_are_checked():
    with pytest.raises(UserError, match="data.engines: unknown engine \\(known: espeak, piper, hibari, flite, festival, kokoro\\), got festivox"):
        small_settings(engines=["espeak", "festivox"])
    with pytest.raises(UserError, match="data.heldout_engine must be null or one of data.engines, got flite"):
        small_settings(heldout_engine="flite")
    with pytest.raises(UserError, match="data.espeak: rate_wpm must be >= 80"):
        open_engine("espeak", {"rate_wpm": [20, 30]})


def test_a_missing_debian_engine_names_the_package(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine without flite
    with pytest.raises(UserError, match="engine flite is not installed: apt-get install flite"):
        open_engine("flite", {})


def _digest(audio: np.ndarray) -> str:
    return hashlib.sha256(audio.tobytes()).hexdigest()
