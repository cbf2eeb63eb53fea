"""Test sets scored after every training epoch, for a learning curve (train.track); nothing is chosen by them."""

from dataclasses import dataclass
from functools import lru_cache

from asr.bundle import Bundle
from asr.errors import UserError
from asr.evaluation.report import per_engine, scores
from asr.evaluation.lm_decode import load_word_decoder
from asr.evaluation.split import decode_split
from asr.decoding.lexicon_beam import LexiconBeamSettings


@dataclass(frozen=True)
class TrackedSet:
    """One entry of train.track: the `split` of the labels and feature shards of some corpus; `lm`, an `lm` stage's
    directory, whose lexicon turns a phone model's output into words (no LM) as the evaluate stage does."""

    name: str
    features: str
    labels: str
    split: str = "test"
    lm: str | None = None


def tracked_sets(entries) -> list[TrackedSet]:
    sets = []
    for number, entry in enumerate(entries or []):
        try:
            sets.append(TrackedSet(**dict(entry)))
        except TypeError as exc:
            raise UserError(f"train.track[{number}]: {exc} (keys: name, features, labels, split, lm)") from None
    return sets


def track_metrics(bundle: Bundle, forward, sets: list[TrackedSet]) -> dict:
    """{"<name>/cer": ..., "<name>/wer": ..., "<name>/cer_<engine>": ...} of greedy decoding on each set (a phone
    model's through its set's lexicon: words, as the evaluate stage scores it with decode's default settings)."""
    metrics = {}
    for tracked in sets:
        word_decoder = _word_decoder(tracked.lm, bundle.vocab) if bundle.vocab.unit == "phone" else None
        predictions = decode_split(bundle, forward, tracked.features, tracked.labels, tracked.split, "greedy", 1,
                                   word_decoder=word_decoder)
        metrics.update({f"{tracked.name}/{key}": value for key, value in scores(predictions).items()})
        engines = per_engine(predictions, None)["test_by_engine"]
        metrics.update({f"{tracked.name}/cer_{engine}": values["cer"] for engine, values in engines.items()})
    return metrics


@lru_cache(maxsize=4)
def _word_decoder(lm_dir: str, vocab):
    """Built once per lexicon for the whole run: loading it costs about as much as a tracked set's search."""
    return load_word_decoder(lm_dir, vocab, LexiconBeamSettings())
