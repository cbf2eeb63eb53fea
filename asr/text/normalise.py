"""Transcript normalisation: the one place that decides what a reference "says"."""

import re
import unicodedata
from collections import Counter

from num2words import num2words

from asr.errors import TextError

# Characters that NFKD does not decompose into ASCII but have an obvious spelling.
_TRANSLITERATION = str.maketrans(
    {"’": "'", "‘": "'", "ʼ": "'", "`": "'", "“": '"', "”": '"', "–": "-", "—": "-",
     "ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L",
     "đ": "d", "Đ": "D", "ð": "d", "þ": "th", "&": " and ", "%": " percent "}
)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_PUNCTUATION = re.compile(r"[!-&(-/:-@\[-`{-~]")  # ASCII punctuation except the apostrophe (')
# An apostrophe is kept inside a word (don't, o'clock) or after a plural s (dogs'); quotes go.
_STRAY_APOSTROPHE = re.compile(r"(?<![a-z])'|'(?![a-z])(?<!s')")
_SPACES = re.compile(r"\s+")


def to_ascii(text: str) -> str:
    """Strip accents and transliterate common symbols; other non-ASCII characters are kept."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_TRANSLITERATION))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def _say(digits: str, ordinal: bool = False) -> str:
    """num2words of '42' or '3.5'; TextError for a number it cannot say (hundreds of digits: OverflowError)."""
    try:
        if ordinal:
            return num2words(int(digits), to="ordinal")
        return num2words(float(digits) if "." in digits else int(digits))
    except (OverflowError, ValueError):  # ValueError: int() of more than 4300 digits
        shown = digits if len(digits) <= 12 else f"{digits[:12]}..."
        raise TextError(f"number too long to say: {shown} ({len(digits)} characters)") from None


def numbers_to_words(text: str) -> str:
    """'1st' -> 'first', '1,024' -> 'one thousand and twenty-four', '3.5' -> 'three point five'."""
    text = _THOUSANDS.sub("", text)
    text = _ORDINAL.sub(lambda m: f" {_say(m.group(1), ordinal=True)} ", text)
    return _NUMBER.sub(lambda m: f" {_say(m.group())} ", text)


def normalise_text(text: str) -> str:
    """Unicode -> ASCII, digits -> words, lower case, punctuation (not ') removed, spaces collapsed.

    Raises TextError (with the reason) for a text that cannot be normalised.
    """
    text = numbers_to_words(to_ascii(text)).lower()
    text = _PUNCTUATION.sub(" ", text)
    text = _STRAY_APOSTROPHE.sub("", text)
    return _SPACES.sub(" ", text).strip()


def normalise_each(texts, skipped) -> list[str]:
    """normalise_text of each text; one that cannot be normalised is left out and reported as skipped(index, reason)."""
    result = []
    for index, text in enumerate(texts):
        try:
            result.append(normalise_text(text))
        except TextError as exc:
            skipped(index, str(exc))
    return result


def apply_vocabulary(text: str, characters: str, oov: str) -> tuple[str | None, Counter]:
    """Handle characters outside the vocabulary: 'drop_char' removes them, 'drop_utterance' gives None.

    Returns (text or None, Counter of the out-of-vocabulary characters found).
    """
    allowed = set(characters)
    unknown = Counter(ch for ch in text if ch not in allowed)
    if not unknown:
        return text, unknown
    if oov == "drop_utterance":
        return None, unknown
    kept = "".join(ch for ch in text if ch in allowed)
    return _SPACES.sub(" ", kept).strip(), unknown
