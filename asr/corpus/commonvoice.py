"""Common Voice reader: <root>/clips/*.mp3 + <root>/{train,dev,test}.tsv (client_id, path, sentence)."""

import csv
from pathlib import Path

import pandas as pd

from asr.csvio import read_rows
from asr.corpus.common import SPLITS, CorpusScan, Rejection, SourceUtterance, id_from_name, source_problem
from asr.errors import UserError

REQUIRED_COLUMNS = ["client_id", "path", "sentence"]


def _read_tsv(path: Path) -> tuple[pd.DataFrame, list]:
    """A Common Voice split file as strings ("" for blanks), checked for the needed columns; and its malformed lines."""
    try:
        # QUOTE_NONE: sentences contain unbalanced quotes
        frame, problems = read_rows(path, "\t", csv.QUOTE_NONE, text_columns=("sentence", "client_id"))
    except ValueError as exc:
        raise UserError(f"cannot parse {path}: {exc}") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise UserError(f"{path} lacks column(s) {', '.join(missing)}")
    return frame, problems


def read_commonvoice(root: Path) -> CorpusScan:
    """Find Common Voice utterances; the split comes from the tsv file, the speaker is client_id."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"Common Voice root not found: {root}")
    tables = {split: root / f"{split}.tsv" for split in SPLITS if (root / f"{split}.tsv").is_file()}
    if not tables:
        raise UserError(f"no train.tsv, dev.tsv or test.tsv in {root}")
    scan, seen = CorpusScan([], []), set()
    for split, table in tables.items():
        rows, problems = _read_tsv(table)
        scan.rejected += [Rejection(f"line {line}", f"{table}:{line}", reason) for line, reason in problems]
        for row in rows.itertuples(index=False):
            name = row.path.strip()
            name = name if Path(name).suffix else f"{name}.mp3"  # early releases omit .mp3
            utt_id, source, text = id_from_name(Path(name).stem), root / "clips" / name, row.sentence.strip()
            reason = source_problem(source, root, text, duplicate=utt_id in seen)
            if reason:
                scan.rejected.append(Rejection(utt_id, str(source), reason))
            else:
                scan.utterances.append(SourceUtterance(utt_id, source, text, row.client_id.strip() or "unknown", split))
            seen.add(utt_id)
    return scan
