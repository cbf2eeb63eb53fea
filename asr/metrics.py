"""Character and word error rates, per utterance and over a corpus, from jiwer's alignment counts.

Definitions (chosen so that empty references never divide by zero):
- edits = substitutions + deletions + insertions of the minimum-edit alignment, and the
  reference length = substitutions + deletions + hits, both after jiwer's default transforms
  (strip outer whitespace; words are split on whitespace).
- utterance error rate = edits / max(reference length, 1): ref "" with hyp "ab" is 2.0 (two
  insertions), ref "" with hyp "" is 0.0.
- corpus error rate = total edits / max(total reference length, 1): an empty reference adds
  nothing to the denominator but its insertions still count as errors. This is the usual
  corpus CER/WER, not a mean of per-utterance rates, so long utterances weigh more.
"""

from collections.abc import Sequence

import jiwer


def _character_counts(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edits, reference length) in characters."""
    out = jiwer.process_characters(reference, hypothesis)
    return out.substitutions + out.deletions + out.insertions, out.substitutions + out.deletions + out.hits


def _word_counts(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edits, reference length) in words."""
    out = jiwer.process_words(reference, hypothesis)
    return out.substitutions + out.deletions + out.insertions, out.substitutions + out.deletions + out.hits


def _corpus_rate(references: Sequence[str], hypotheses: Sequence[str], counts) -> float:
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    total_edits = total_length = 0
    for reference, hypothesis in zip(references, hypotheses):
        edits, length = counts(reference, hypothesis)
        total_edits += edits
        total_length += length
    return total_edits / max(total_length, 1)


def utterance_cer(reference: str, hypothesis: str) -> float:
    """Character edits / max(reference characters, 1) for one utterance."""
    return _corpus_rate([reference], [hypothesis], _character_counts)


def utterance_wer(reference: str, hypothesis: str) -> float:
    """Word edits / max(reference words, 1) for one utterance."""
    return _corpus_rate([reference], [hypothesis], _word_counts)


def character_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus CER: total character edits / total reference characters (see module docstring)."""
    return _corpus_rate(references, hypotheses, _character_counts)


def word_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus WER: total word edits / total reference words (see module docstring)."""
    return _corpus_rate(references, hypotheses, _word_counts)
