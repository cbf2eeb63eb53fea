"""Deterministic train/dev/test assignment for corpora that do not define their own splits."""

import hashlib
from dataclasses import replace

from asr.corpus.common import SPLITS


def _unit_interval(key: str, seed: int) -> float:
    """A stable pseudo-random number in [0, 1) for `key` (same on every machine and Python)."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_for(key: str, dev_fraction: float, test_fraction: float, seed: int) -> str:
    value = _unit_interval(key, seed)
    if value < test_fraction:
        return "test"
    if value < test_fraction + dev_fraction:
        return "dev"
    return "train"


def assign_splits(utterances, dev_fraction: float, test_fraction: float, seed: int, min_speakers: int = 3):
    """Give every utterance without a split one, by speaker when there are enough speakers.

    With at least `min_speakers` speakers the split is speaker-disjoint (a speaker's utterances
    all land in one split); otherwise (e.g. LJSpeech, one voice) utterances are split one by one.
    Utterances that already carry a valid split keep it.
    """
    speakers = {u.speaker for u in utterances if u.split is None}
    by_speaker = len(speakers) >= min_speakers
    result = []
    for utt in utterances:
        if utt.split in SPLITS:
            result.append(utt)
            continue
        key = utt.speaker if by_speaker else utt.id
        result.append(replace(utt, split=split_for(key, dev_fraction, test_fraction, seed)))
    return result
