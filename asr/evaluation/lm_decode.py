"""LM decoding of already computed log-probabilities: a second hypothesis per utterance, with its time."""

import time
from pathlib import Path

import pandas as pd

from asr.decoding.lexicon_beam import LexiconBeamDecoder, LexiconBeamSettings
from asr.errors import UserError
from asr.text.vocab import Vocabulary

WORD_LM, CHARACTER_LM, LEXICON = "words.arpa", "chars.arpa", "lexicon.txt"  # the `lm` stage's outputs


def load_lm_decoder(lm_dir, vocab: Vocabulary, settings: LexiconBeamSettings, lexicon_free: bool):
    """The LM decoder over the `lm` stage's directory: word LM + lexicon, or the character LM alone."""
    lm_dir = Path(lm_dir)
    needed = [CHARACTER_LM] if lexicon_free else [WORD_LM, LEXICON]
    if missing := [name for name in needed if not (lm_dir / name).is_file()]:
        raise UserError(f"{lm_dir}: no language model ({', '.join(missing)} missing; run the `lm` stage)")
    if lexicon_free:
        return LexiconBeamDecoder(vocab, lm_dir / CHARACTER_LM, None, settings)
    return LexiconBeamDecoder(vocab, lm_dir / WORD_LM, lm_dir / LEXICON, settings)


def add_lm_hypotheses(predictions: pd.DataFrame, decoder: LexiconBeamDecoder) -> pd.DataFrame:
    """Columns hypothesis_lm and seconds_lm (the forward share plus the LM search) from each row's log_probs."""
    hypotheses, seconds = [], []
    for row in predictions.itertuples():
        start = time.perf_counter()
        hypotheses.append(decoder.decode(row.log_probs))
        seconds.append(row.seconds + time.perf_counter() - start)
    return predictions.assign(hypothesis_lm=hypotheses, seconds_lm=seconds)
