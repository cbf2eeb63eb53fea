"""Word n-gram language models: interpolated modified Kneser-Ney, written as an ARPA file.

The estimate follows KenLM's lmplz (Heafield et al. 2013; Chen & Goodman 1998, eq. 26):
- adjusted counts: the highest order keeps raw counts; a lower-order n-gram counts its distinct
  left extensions (one more word on the left), except n-grams starting with <s>, which keep raw counts;
- three discounts per order, D1, D2, D3+, from the counts of adjusted counts t1..t4; when those
  are degenerate (tiny corpora), lmplz --discount_fallback's 0.5, 1.0, 1.5;
- interpolation down to a uniform distribution over the vocabulary (words, </s> and <unk>),
  so <unk> gets the unigram level's leftover mass; <s> is never predicted (log10 -99 in ARPA).

    p(w | h) = (a(hw) - D(a(hw))) / sum_x a(hx)  +  gamma(h) * p(w | h minus its first word)
    gamma(h) = sum_x D(a(hx)) / sum_x a(hx)

Interpolated probabilities of seen n-grams are written as they are and gamma(h) as h's backoff,
which is exactly the ARPA backoff reading. Hand-written because no PyPI estimator fits: kenlm is a
source-only package that builds the query module, not lmplz; arpabo 0.3.0's Kneser-Ney neither
interpolates nor normalises (backoff weights fixed at 1.0); nltk.lm writes no ARPA.
"""

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from asr.atomic import atomic_path
from asr.errors import UserError

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)  # lmplz --discount_fallback defaults: D1, D2, D3+
NEVER_LOG10 = -99.0  # ARPA's log10 "probability" of <s>, which is only ever a context


@dataclass(frozen=True)
class NgramModel:
    """Interpolated probabilities of the seen n-grams and the backoff weight of each context."""

    probs: list[dict[tuple[str, ...], float]]  # probs[n - 1][ngram] = p(last word | the others)
    backoffs: dict[tuple[str, ...], float]  # gamma(context) for each context of a longer n-gram
    discounts: list[tuple[float, float, float]]  # (D1, D2, D3+) per order

    @property
    def order(self) -> int:
        return len(self.probs)


def count_ngrams(sentences: Iterable[str], order: int) -> list[Counter]:
    """Raw counts of 1..order-grams in `<s> words </s>`, per order (<s> alone is not counted)."""
    if order < 1:
        raise UserError(f"lm order must be >= 1, got {order}")
    counts = [Counter() for _ in range(order)]
    for sentence in sentences:
        words = sentence.split()
        if not words:
            continue
        tokens = (BOS, *words, EOS)
        for end in range(1, len(tokens)):
            for n in range(1, min(order, end + 1) + 1):
                counts[n - 1][tokens[end - n + 1 : end + 1]] += 1
    if not counts[0]:
        raise UserError("cannot estimate a language model: no non-empty sentences")
    # Sentences shorter than the order leave the top orders empty; such orders are dropped.
    return [c for c in counts if c]


def adjust_counts(raw: list[Counter]) -> list[Counter]:
    """Kneser-Ney adjusted counts: distinct left extensions below the highest order."""
    adjusted = [Counter() for _ in raw]
    adjusted[-1] = Counter(raw[-1])
    for n in range(len(raw) - 1):
        for longer in raw[n + 1]:
            adjusted[n][longer[1:]] += 1
        for gram, count in raw[n].items():
            if gram[0] == BOS:  # nothing can precede <s>
                adjusted[n][gram] = count
    return adjusted


def kn_discounts(adjusted: Iterable[int]) -> tuple[float, float, float]:
    """(D1, D2, D3+) from the counts of adjusted counts; lmplz's fallback when they are degenerate."""
    counts_of_counts = Counter(adjusted)
    t = [counts_of_counts[k] for k in range(1, 5)]  # t1..t4
    if min(t) == 0:
        return FALLBACK_DISCOUNTS
    y = t[0] / (t[0] + 2 * t[1])
    discounts = tuple(k - (k + 1) * y * t[k] / t[k - 1] for k in (1, 2, 3))
    if not all(0 < d <= k for k, d in zip((1, 2, 3), discounts)):
        return FALLBACK_DISCOUNTS
    return discounts


def _discount(count: int, discounts: tuple[float, float, float]) -> float:
    return discounts[min(count, 3) - 1]


def kneser_ney(sentences: Iterable[str], order: int) -> NgramModel:
    """Estimate an interpolated modified Kneser-Ney model of up to `order` (fewer if sentences are short)."""
    adjusted = adjust_counts(count_ngrams(sentences, order))
    all_discounts = [kn_discounts(level.values()) for level in adjusted]
    probs: list[dict[tuple[str, ...], float]] = []
    backoffs: dict[tuple[str, ...], float] = {}
    for n, (level, discounts) in enumerate(zip(adjusted, all_discounts), start=1):
        totals: dict[tuple, float] = defaultdict(float)
        discounted: dict[tuple, float] = defaultdict(float)  # mass freed in each context
        for gram, count in level.items():
            totals[gram[:-1]] += count
            discounted[gram[:-1]] += _discount(count, discounts)
        gammas = {context: discounted[context] / totals[context] for context in totals}
        if n == 1:
            vocabulary = {gram[0] for gram in level} | {UNK}
            lower = {(): 1 / len(vocabulary)}  # order 0: uniform over words, </s>, <unk>
        else:
            lower = probs[-1]
            backoffs.update(gammas)
        probs.append({
            gram: (count - _discount(count, discounts)) / totals[gram[:-1]] + gammas[gram[:-1]] * lower[gram[1:]]
            for gram, count in level.items()
        })
        if n == 1:
            probs[0].setdefault((UNK,), gammas[()] / len(vocabulary))  # <unk> is a zeroton
    return NgramModel(probs, backoffs, all_discounts)


def _arpa_line(gram: tuple[str, ...], log10_prob: float, backoff: float | None) -> str:
    fields = [f"{log10_prob:.7g}", " ".join(gram)]
    if backoff is not None:
        fields.append(f"{math.log10(backoff):.7g}")
    return "\t".join(fields)


def write_arpa(model: NgramModel, path) -> None:
    """Write `model` as an ARPA backoff file, atomically (tmp file, then os.replace)."""
    levels = [dict(level) for level in model.probs]
    levels[0][(BOS,)] = None  # <s> is only ever a context
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as out:
        out.write("\\data\\\n")
        for n, level in enumerate(levels, start=1):
            out.write(f"ngram {n}={len(level)}\n")
        for n, level in enumerate(levels, start=1):
            out.write(f"\n\\{n}-grams:\n")
            for gram in sorted(level):
                prob = level[gram]
                log10_prob = NEVER_LOG10 if prob is None else math.log10(prob)
                out.write(_arpa_line(gram, log10_prob, model.backoffs.get(gram)) + "\n")
        out.write("\n\\end\\\n")


def estimate_arpa(sentences: Iterable[str], path, order: int) -> NgramModel:
    """Estimate a Kneser-Ney word n-gram LM from normalised sentences and write it to `path` as ARPA."""
    model = kneser_ney(sentences, order)
    write_arpa(model, path)
    return model
