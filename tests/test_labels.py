"""Vocabulary file, label encoding round trips, and the CTC alignment filter."""

import json

import pandas as pd
import pytest

from asr.errors import UserError
from asr.text.labels import encode_labels, label_split, steps_needed
from asr.text.vocab import Vocabulary

CHARS = " abcdefghijklmnopqrstuvwxyz'"


def test_blank_is_index_zero_and_characters_follow_config_order():
    vocab = Vocabulary.from_characters(CHARS)
    assert vocab.size == 29
    assert vocab.blank_index == 0
    assert vocab.encode(" a'") == [1, 2, 28]
    assert vocab.encode("cab") == [4, 2, 3]


def test_encode_decode_round_trip_and_blank_skipped():
    vocab = Vocabulary.from_characters(CHARS)
    text = "it's a test"
    assert vocab.decode(vocab.encode(text)) == text
    assert vocab.decode([0, 9, 0, 0, 10, -1]) == "hi"


def test_vocab_file_round_trip(tmp_path):
    vocab = Vocabulary.from_characters(CHARS)
    vocab.save(tmp_path / "vocab.json")
    data = json.loads((tmp_path / "vocab.json").read_text())
    assert data["blank_index"] == 0 and data["tokens"][0] == "<blank>" and data["tokens"][2] == "a"
    assert Vocabulary.load(tmp_path / "vocab.json") == vocab


def test_vocab_file_with_blank_elsewhere_is_refused(tmp_path):
    path = tmp_path / "vocab.json"
    path.write_text(json.dumps({"version": 1, "blank_index": 3, "tokens": ["a", "b", "c", "<blank>"]}))
    with pytest.raises(UserError, match="blank"):
        Vocabulary.load(path)


def test_duplicate_characters_are_refused():
    with pytest.raises(UserError, match=r"duplicates: \['a'\]"):
        Vocabulary.from_characters("abca")


def test_unknown_character_names_it():
    with pytest.raises(UserError, match="'ж'"):
        Vocabulary.from_characters(CHARS).encode("aж")


@pytest.mark.parametrize("label, needed", [([], 0), ([1], 1), ([1, 2, 3], 3), ([1, 1], 3), ([5, 5, 5, 2], 6)])
def test_steps_needed_counts_a_blank_between_repeats(label, needed):
    assert steps_needed(label) == needed


def test_encode_labels_parses_stored_form():
    assert encode_labels("3 4 5") == [3, 4, 5]


def test_label_split_keeps_encodes_and_drops_with_reasons():
    vocab = Vocabulary.from_characters(CHARS)
    manifest = pd.DataFrame(
        [
            dict(id="ok", text="Hi, 2!", speaker="s", duration=1.0, split="train"),
            dict(id="short", text="hello", speaker="s", duration=0.1, split="train"),
            dict(id="empty", text="?!", speaker="s", duration=1.0, split="train"),
            dict(id="nofeat", text="a", speaker="s", duration=1.0, split="train"),
            dict(id="oov", text="aж", speaker="s", duration=1.0, split="train"),
        ]
    )
    # "hello" needs 6 steps (l l repeat); 5 frames are too few.
    frames = {"ok": 100, "short": 5, "empty": 100, "oov": 100}
    labels, dropped, oov = label_split(manifest, frames, vocab, "drop_utterance")
    assert labels["id"].tolist() == ["ok"]
    assert labels.iloc[0]["text"] == "hi two"
    assert encode_labels(labels.iloc[0]["label"]) == vocab.encode("hi two")
    reasons = {d["id"]: d["reason"] for d in dropped}
    assert reasons["short"] == "cannot align: 5 frames < 6 needed for 5 labels"
    assert reasons["empty"] == "empty transcript after normalisation"
    assert reasons["nofeat"] == "no features"
    assert reasons["oov"] == "out-of-vocabulary characters: ж"
    assert oov["ж"] == 1

    labels, dropped, _ = label_split(manifest[manifest.id == "oov"], frames, vocab, "drop_char")
    assert labels.iloc[0]["text"] == "a" and not dropped
