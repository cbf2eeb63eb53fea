"""Test sets scored after every training epoch, for a learning curve (train.track); nothing is chosen by them."""

from dataclasses import dataclass

from asr.bundle import Bundle
from asr.errors import UserError
from asr.evaluation.report import per_engine, scores
from asr.evaluation.split import decode_split


@dataclass(frozen=True)
class TrackedSet:
    """One entry of train.track: the `split` of the labels and feature shards of some corpus."""

    name: str
    features: str
    labels: str
    split: str = "test"


def tracked_sets(entries) -> list[TrackedSet]:
    sets = []
    for number, entry in enumerate(entries or []):
        try:
            sets.append(TrackedSet(**dict(entry)))
        except TypeError as exc:
            raise UserError(f"train.track[{number}]: {exc} (keys: name, features, labels, split)") from None
    return sets


def track_metrics(bundle: Bundle, forward, sets: list[TrackedSet]) -> dict:
    """{"<name>/cer": ..., "<name>/wer": ..., "<name>/cer_<engine>": ...} of greedy decoding on each set."""
    metrics = {}
    for tracked in sets:
        predictions = decode_split(bundle, forward, tracked.features, tracked.labels, tracked.split, "greedy", 1)
        metrics.update({f"{tracked.name}/{key}": value for key, value in scores(predictions).items()})
        engines = per_engine(predictions, None)["test_by_engine"]
        metrics.update({f"{tracked.name}/cer_{engine}": values["cer"] for engine, values in engines.items()})
    return metrics
