"""The lexicon: each word's spelling in acoustic-model symbols, in flashlight's text format.

One line per word, fields separated by whitespace (flashlight's loadWords): the word, then its
characters, then the word separator:

    hello	h e l l o |

With labels.unit=phone the spelling is the word's phones (asr.text.phones' codes): `hello	h ʌ l o |`.

The acoustic vocabulary marks word boundaries with ' ', which cannot be a field of a
whitespace-separated file, so it is written as WORD_SEPARATOR ('|', wav2letter's convention);
asr.decoding.lexicon_beam maps '|' back to the index of ' '. A character-level LM uses the same
spelling: "hello world" -> "h e l l o | w o r l d".
"""

from collections.abc import Iterable
from pathlib import Path

from asr.atomic import atomic_path
from asr.errors import UserError

WORD_SEPARATOR = "|"
SPECIAL_WORDS = ("<s>", "</s>", "<unk>")


def spell(word: str) -> list[str]:
    """'hello' -> ['h', 'e', 'l', 'l', 'o', '|']: the tokens a CTC path must emit for the word (or its phones)."""
    return [*word, WORD_SEPARATOR]


def character_sentence(sentence: str) -> str:
    """'hello world' -> 'h e l l o | w o r l d': a sentence as tokens for a character-level LM."""
    return " ".join(WORD_SEPARATOR if ch == " " else ch for ch in " ".join(sentence.split()))


def check_word(word: str, characters: str | None = None) -> None:
    """Raise UserError if `word` cannot be spelled (empty, whitespace, '|', or outside `characters`)."""
    if not word or any(ch.isspace() for ch in word) or WORD_SEPARATOR in word:
        raise UserError(f"lexicon word {word!r}: must be non-empty, without whitespace or {WORD_SEPARATOR!r}")
    if characters is not None:
        unknown = sorted(set(word) - set(characters))
        if unknown:
            raise UserError(f"lexicon word {word!r}: characters {unknown} are not in the vocabulary")


def write_lexicon(words: Iterable[str], path, characters: str | None = None,
                  spellings: dict[str, str] | None = None) -> int:
    """Write one `word<TAB>w o r d |` line per distinct word (sorted), atomically; returns the count.

    `spellings` ({word: symbols}, the phone unit's): each word is spelled by it instead of by its letters,
    and a word it lacks is left out.
    """
    unique = sorted(set(words) - set(SPECIAL_WORDS))
    for word in unique:
        check_word(word, characters)
    if spellings is not None:
        unique = [word for word in unique if spellings.get(word)]
    lines = [f"{word}\t{' '.join(spell(spellings[word] if spellings is not None else word))}\n" for word in unique]
    with atomic_path(path) as tmp:
        tmp.write_text("".join(lines), encoding="utf-8")
    return len(unique)


def arpa_words(path) -> list[str]:
    """The words of an ARPA file's unigram section, without <s>, </s> and <unk>."""
    words = []
    in_unigrams = False
    try:
        with open(path, encoding="utf-8") as arpa:
            for line in arpa:
                line = line.strip()
                if line.startswith("\\"):
                    if in_unigrams:
                        break
                    in_unigrams = line == "\\1-grams:"
                elif in_unigrams and line:
                    word = line.split()[1]
                    if word not in SPECIAL_WORDS:
                        words.append(word)
    except OSError as exc:
        raise UserError(f"{path}: cannot read ARPA file ({exc})") from None
    return words


def read_lexicon(path) -> dict[str, list[str]]:
    """Lexicon file -> {word: spelling tokens}; the first spelling of a word wins."""
    lexicon: dict[str, list[str]] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UserError(f"{path}: cannot read lexicon ({exc})") from None
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 2:
            raise UserError(f"{path}:{number}: expected a word and its spelling, got {line!r}")
        lexicon.setdefault(fields[0], fields[1:])
    return lexicon
