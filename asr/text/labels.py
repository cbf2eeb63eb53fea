"""Turn transcripts into CTC label sequences, dropping what cannot be used (with reasons)."""

from collections import Counter

import pandas as pd

from asr.errors import TextError
from asr.text.normalise import apply_vocabulary, normalise_text
from asr.text.vocab import Vocabulary

LABEL_COLUMNS = ["id", "speaker", "engine", "duration", "num_frames", "text", "label"]
DROPPED_COLUMNS = ["id", "split", "reason"]
OOV_POLICIES = ("drop_char", "drop_utterance")


def steps_needed(label: list[int]) -> int:
    """Fewest time steps CTC needs: one per label, plus a blank between adjacent repeats."""
    return len(label) + sum(1 for a, b in zip(label, label[1:]) if a == b)


def encode_labels(ids: str) -> list[int]:
    """'3 4 5' (as stored in the labels CSV) -> [3, 4, 5]."""
    return [int(x) for x in str(ids).split()]


def label_split(manifest: pd.DataFrame, num_frames: dict[str, int], vocab: Vocabulary, oov: str,
                characters: str | None = None, spell=None):
    """Normalise, filter and encode one split. Returns (labels frame, dropped rows, oov Counter).

    `characters`: the transcripts' alphabet (default: the vocabulary's own). `spell`: normalised text ->
    the symbols `vocab` encodes (labels.unit=phone: asr.corpus.pronounce.Pronouncer.spell_text); the
    `text` column keeps the words, the `label` column the encoded symbols.
    """
    rows, dropped, oov_counts = [], [], Counter()
    for utt in manifest.itertuples(index=False):
        try:
            text, unknown = apply_vocabulary(normalise_text(str(utt.text)), characters or vocab.characters, oov)
        except TextError as exc:
            text, unknown, problem = "", Counter(), f"cannot normalise the transcript: {exc}"
        else:
            problem = None
        symbols = text
        if spell is not None and text and not problem:
            try:
                symbols = spell(text)
            except TextError as exc:
                problem = f"cannot spell the transcript in {vocab.unit}s: {exc}"
        oov_counts.update(unknown)
        frames = num_frames.get(utt.id)
        reason = None
        if frames is None:
            reason = "no features"
        elif problem:
            reason = problem
        elif text is None:
            reason = "out-of-vocabulary characters: " + "".join(sorted(unknown))
        elif not text:
            reason = "empty transcript after normalisation"
        else:
            label = vocab.encode(symbols)
            if steps_needed(label) > frames:
                reason = f"cannot align: {frames} frames < {steps_needed(label)} needed for {len(label)} labels"
        if reason:
            dropped.append(dict(id=utt.id, split=utt.split, reason=reason))
            continue
        rows.append(dict(id=utt.id, speaker=utt.speaker, engine=getattr(utt, "engine", "recorded"),
                         duration=utt.duration, num_frames=frames,
                         text=text, label=" ".join(map(str, label))))
    return pd.DataFrame(rows, columns=LABEL_COLUMNS), dropped, oov_counts


def filter_alignable(labels, subsample: int):
    """Drop utterances too short for their label once frames are stacked by `subsample`.

    Returns (kept labels, [(id, reason), ...]).
    """
    dropped, keep = [], []
    for row in labels.itertuples():
        steps = -(-int(row.num_frames) // subsample)
        needed = steps_needed(encode_labels(row.label))
        keep.append(steps >= needed)
        if steps < needed:
            dropped.append((row.id, f"cannot align: {steps} steps after subsample {subsample} < {needed} needed"))
    return labels[keep].reset_index(drop=True), dropped
