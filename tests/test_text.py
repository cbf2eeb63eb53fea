"""Transcript normalisation and out-of-vocabulary handling, on hand-worked examples."""

from collections import Counter

import pytest

from asr.text.normalise import apply_vocabulary, normalise_text

CHARS = " abcdefghijklmnopqrstuvwxyz'"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Hello, World!", "hello world"),
        ("  many   spaces\tand\nlines ", "many spaces and lines"),
        ("Café déjà-vu", "cafe deja vu"),
        ("Straße", "strasse"),
        ("It\u2019s ten o'clock", "it's ten o'clock"),
        ("'quoted' dogs' bones", "quoted dogs' bones"),
        ("42", "forty two"),
        ("the 1st and 22nd", "the first and twenty second"),
        ("1,024 items", "one thousand and twenty four items"),
        ("3.5 kg", "three point five kg"),
        ("rock & roll 100%", "rock and roll one hundred percent"),
        ("", ""),
        ("?!...", ""),
    ],
)
def test_normalise_text(raw, expected):
    assert normalise_text(raw) == expected


def test_non_latin_letters_survive_normalisation_to_be_counted():
    assert normalise_text("Жx") == "жx"


def test_drop_char_removes_unknown_characters_and_counts_them():
    text, unknown = apply_vocabulary("ab ж ж c", CHARS, "drop_char")
    assert text == "ab c"
    assert unknown == Counter({"ж": 2})


def test_drop_utterance_returns_none():
    text, unknown = apply_vocabulary("naïve ж", CHARS, "drop_utterance")
    assert text is None
    assert unknown == Counter({"ï": 1, "ж": 1})


def test_in_vocabulary_text_is_untouched():
    assert apply_vocabulary("don't stop", CHARS, "drop_utterance") == ("don't stop", Counter())
