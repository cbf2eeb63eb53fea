"""The text a language model learns from: training transcripts, extra text, never a dev or test sentence."""

from collections.abc import Iterable

from asr.errors import UserError


def lm_sentences(train: Iterable[str], extra: Iterable[str], held_out: Iterable[str]) -> list[str]:
    """Distinct normalised sentences from `train` then `extra`, in first-seen order, less every `held_out` one.

    All inputs are already normalised (lower case, a-z ' and single spaces); a held-out (dev or test)
    sentence found in the extra text is dropped, so the LM never saw what it is scored on.
    """
    blocked = {s for s in held_out if s}
    seen, sentences = set(), []
    for sentence in (*train, *extra):
        if sentence and sentence not in seen and sentence not in blocked:
            seen.add(sentence)
            sentences.append(sentence)
    if not sentences:
        raise UserError("no sentences to estimate the language model from")
    return sentences
