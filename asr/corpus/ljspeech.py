"""LJSpeech reader: <root>/metadata.csv (id|text|normalised text) + <root>/wavs/<id>.wav."""

import csv
from pathlib import Path

import pandas as pd

from asr.csvio import read_text_table
from asr.corpus.common import CorpusScan, Rejection, SourceUtterance, source_problem
from asr.errors import UserError

SPEAKER = "LJ"


def _read_metadata(path: Path) -> pd.DataFrame:
    """metadata.csv as strings; short lines get "" for the missing columns."""
    try:
        # QUOTE_NONE: transcripts contain unbalanced quotes; "" stays "" (not NaN), "NA" stays "NA"
        return read_text_table(path, sep="|", header=None, names=["id", "text", "normalised"],
                               quoting=csv.QUOTE_NONE, encoding="utf-8")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot parse {path}: {str(exc).strip().splitlines()[0]}") from None


def read_ljspeech(root: Path) -> CorpusScan:
    """Find LJSpeech utterances (one speaker, no splits); prefers the normalised transcript."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"LJSpeech root not found: {root}")
    metadata = root / "metadata.csv"
    if not metadata.is_file():
        raise UserError(f"LJSpeech metadata not found: {metadata}")
    scan, seen = CorpusScan([], []), set()
    for row in _read_metadata(metadata).itertuples(index=False):
        utt_id = row.id.strip()
        text = row.normalised.strip() or row.text.strip()
        source = root / "wavs" / f"{utt_id}.wav"
        reason = source_problem(source, root, text, duplicate=utt_id in seen)
        if reason:
            scan.rejected.append(Rejection(utt_id, str(source), reason))
        else:
            scan.utterances.append(SourceUtterance(utt_id, source, text, SPEAKER))
        seen.add(utt_id)
    return scan
