"""LM decoding of already computed log-probabilities: a second hypothesis per utterance, with its time."""

import time
from pathlib import Path

from asr.decoding.lexicon_beam import LexiconBeamDecoder, LexiconBeamSettings
from asr.errors import UserError
from asr.text.vocab import Vocabulary

WORD_LM, CHARACTER_LM, LEXICON = "words.arpa", "chars.arpa", "lexicon.txt"  # the `lm` stage's outputs
SHIPPED_WORD_LM = "words.arpa.gz"  # a release's copy of words.arpa (KenLM reads it gzipped: a third of the size)


def word_lm(lm_dir) -> Path:
    """lm_dir's word ARPA: words.arpa, or a release's words.arpa.gz where that is what it holds."""
    lm_dir = Path(lm_dir)
    return lm_dir / SHIPPED_WORD_LM if not (lm_dir / WORD_LM).is_file() and (lm_dir / SHIPPED_WORD_LM).is_file() \
        else lm_dir / WORD_LM


def load_lm_decoder(lm_dir, vocab: Vocabulary, settings: LexiconBeamSettings, lexicon_free: bool):
    """The LM decoder over the `lm` stage's directory: word LM + lexicon, or the character LM alone."""
    lm_dir = Path(lm_dir)
    needed = [CHARACTER_LM] if lexicon_free else [word_lm(lm_dir).name, LEXICON]
    if missing := [name for name in needed if not (lm_dir / name).is_file()]:
        raise UserError(f"{lm_dir}: no language model ({', '.join(missing)} missing; run the `lm` stage)")
    if lexicon_free:
        return LexiconBeamDecoder(vocab, lm_dir / CHARACTER_LM, None, settings)
    return LexiconBeamDecoder(vocab, word_lm(lm_dir), lm_dir / LEXICON, settings)


def load_word_decoder(lm_dir, vocab: Vocabulary, settings: LexiconBeamSettings) -> LexiconBeamDecoder:
    """A phone model's plain decoder: the lexicon search without an LM, so its hypotheses are words as a
    character model's greedy ones are (any lexicon word, each scored by its phones alone)."""
    lexicon = Path(lm_dir) / LEXICON
    if not lexicon.is_file():
        raise UserError(f"{lm_dir}: no lexicon ({LEXICON} missing; run the `lm` stage): a phone model needs it "
                        "to turn phones into words")
    return LexiconBeamDecoder(vocab, None, lexicon, settings)


def searched(rows, decoder: LexiconBeamDecoder, text_column: str, seconds_column: str):
    """Set each prediction row's `text_column` to the decoder's text for its log_probs and `seconds_column` to the
    forward share plus that search, one row at a time as the rows stream past (no split's log-probabilities are
    ever held together)."""
    for row in rows:
        start = time.perf_counter()
        text = decoder.decode(row["log_probs"])
        yield dict(row, **{text_column: text, seconds_column: row["seconds"] + time.perf_counter() - start})


def with_lm_hypotheses(rows, decoder: LexiconBeamDecoder):
    """Add hypothesis_lm and seconds_lm (the forward share plus the LM search) to each prediction row."""
    return searched(rows, decoder, "hypothesis_lm", "seconds_lm")


def with_lexicon_words(rows, decoder: LexiconBeamDecoder):
    """Replace each row's hypothesis (a phone model's phone codes) by the lexicon's words; seconds gains the search."""
    return searched(rows, decoder, "hypothesis", "seconds")
