"""Random sentences of frequent English words (wordfreq), for the synthetic corpus."""

import re

import numpy as np

from asr.errors import UserError

WORD_PATTERN = re.compile(r"[a-z]+(?:'[a-z]+)*")  # letters, apostrophes only inside a word
SINGLE_LETTER_WORDS = {"a", "i"}
# Tokens eSpeak reads as something other than their letters (abbreviations, numerals):
# keeping them would pair audio "okay" / "roman two" with the label "ok" / "ii".
SPOKEN_DIFFERENTLY = {"co", "ii", "ok", "uk", "vs", "etc", "jr", "sr", "dc", "usa"}
MAX_DRAWS_PER_SENTENCE = 50  # give up (vocabulary too small) after this many tries per sentence


def is_clean_word(word: str) -> bool:
    """True for a word whose letters are what a synthesiser says (so the label is exact)."""
    if not WORD_PATTERN.fullmatch(word):
        return False
    if len(word) == 1:
        return word in SINGLE_LETTER_WORDS
    return bool(re.search("[aeiouy]", word)) and word not in SPOKEN_DIFFERENTLY


def frequent_words(word_list_size: int) -> list[str]:
    """The `word_list_size` most frequent English words (wordfreq), minus unclean ones."""
    if word_list_size < 1:
        raise UserError(f"data.word_list_size must be > 0, got {word_list_size}")
    import wordfreq  # imported here: loading its data takes a moment

    return [w for w in wordfreq.top_n_list("en", word_list_size) if is_clean_word(w)]


def make_sentences(words: list[str], count: int, words_per_utterance, seed) -> list[str]:
    """`count` distinct sentences of [min, max] words drawn uniformly from `words`.

    `seed` is anything numpy.random.default_rng takes (an int or a tuple of ints); the
    result is deterministic for (words, count, words_per_utterance, seed).
    """
    low, high = (int(n) for n in words_per_utterance)
    if not 1 <= low <= high:
        raise UserError(f"data.words_per_utterance must be [min, max] with 1 <= min <= max, got {[low, high]}")
    if not words:
        raise UserError("no usable words to build sentences from")
    rng = np.random.default_rng(seed)
    sentences, seen = [], set()
    for _ in range(count * MAX_DRAWS_PER_SENTENCE):
        if len(sentences) == count:
            break
        length = int(rng.integers(low, high + 1))
        sentence = " ".join(words[i] for i in rng.integers(0, len(words), size=length))
        if sentence not in seen:
            seen.add(sentence)
            sentences.append(sentence)
    if len(sentences) < count:
        raise UserError(
            f"only {len(sentences)} distinct sentences of {low}-{high} words from {len(words)} words; "
            f"{count} needed (raise data.word_list_size or data.words_per_utterance)"
        )
    return sentences
