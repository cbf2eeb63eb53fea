"""The base preset's corpus: ten times the default's sentences, none of the default's, the same held-out voices."""

import pytest

from asr.corpus.synthetic import SyntheticSettings, assign_voices, sentence_pool, split_sizes
from asr.errors import UserError
from tests.conftest import compose

BASE = ["+experiment=base"]


def settings(overrides=()) -> SyntheticSettings:
    return SyntheticSettings.from_config(compose(overrides).data)


def test_the_base_corpus_shares_no_sentence_with_the_default_corpus():
    default, base = settings(), settings(BASE)
    default_pool, base_pool = sentence_pool(default), sentence_pool(base)
    assert len(base_pool) == base.num_utterances == 10 * default.num_utterances
    assert not set(default_pool) & set(base_pool)  # so no default dev or test sentence is trained on
    # the two corpora are consecutive stretches of one seeded order
    both = sentence_pool(settings(["data.num_utterances=17600"]))
    assert both == default_pool + base_pool


def test_an_offset_shifts_the_word_phrases_too():
    words = ["data.sentences=words", "data.num_utterances=5"]
    first, later = sentence_pool(settings(words)), sentence_pool(settings(words + ["data.sentence_offset=3"]))
    assert later[:2] == first[3:]


def test_an_offset_beyond_the_sentences_is_a_user_error():
    with pytest.raises(UserError, match=r"data.num_utterances is 16000 after data.sentence_offset 20000$"):
        sentence_pool(settings(BASE + ["data.sentence_offset=20000"]))
    with pytest.raises(UserError, match="sentence_offset must be >= 0"):
        settings(["data.sentence_offset=-1"])


def test_the_default_test_voices_never_speak_in_base_training():
    default, base = settings(), settings(BASE)
    voices = {"espeak": [f"v{i:03d}" for i in range(136)], "hibari": ["heart"]}
    default_splits, base_splits = assign_voices(voices, default), assign_voices(voices, base)
    held_out = {pair for pair in default_splits["test"] + default_splits["dev"] if pair[0] == "espeak"}
    assert len(held_out) == 8
    assert not held_out & set(base_splits["train"])
    assert base_splits["test"] == default_splits["test"]


def test_the_base_preset_holds_piper_out_and_trains_kokoro_with_the_others():
    base = settings(BASE)
    assert base.heldout_engine == "piper"
    assert set(base.engines) == {"espeak", "hibari", "flite", "festival", "piper", "kokoro"}
    assert split_sizes(base) == {"train": 15120, "dev": 320, "test": 560}
    cfg = compose(BASE)
    assert cfg.paths.prepared.startswith("data/base/") and cfg.paths.model.startswith("data/base/")
    # the default test split, in phones as the base model is trained (labels.unit=phone)
    assert cfg.labels.unit == "phone"
    assert [tracked.labels for tracked in cfg.train.track] == ["data/base/default_labels"]
    assert list(cfg.lm.held_out_labels) == ["data/labels"]  # its sentences stay out of the base LM
