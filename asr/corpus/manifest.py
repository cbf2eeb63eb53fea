"""Generic reader: a CSV/TSV with `path` and `text` columns, optional `id`, `speaker`, `split`."""

import csv
from pathlib import Path

import pandas as pd

from asr.csvio import read_rows
from asr.corpus.common import SPLITS, CorpusScan, Rejection, SourceUtterance, id_from_name, source_problem
from asr.errors import UserError


def _separator(manifest: Path) -> str:
    """Tab for .tsv, comma for .csv; otherwise whichever of the two the header line uses."""
    if manifest.suffix.lower() in (".tsv", ".csv"):
        return "\t" if manifest.suffix.lower() == ".tsv" else ","
    with manifest.open(encoding="utf-8", errors="surrogateescape") as handle:
        return "\t" if "\t" in handle.readline() else ","


def _read_table(manifest: Path) -> tuple[pd.DataFrame, list]:
    """(rows with their line numbers, [(line, reason)] of the malformed ones)."""
    sep = _separator(manifest)
    try:
        # TSV: no quoting (texts contain quotes); CSV: standard quoting (texts contain commas)
        frame, problems = read_rows(manifest, sep, csv.QUOTE_NONE if sep == "\t" else csv.QUOTE_MINIMAL,
                                    text_columns=("text", "id", "speaker", "split"))
    except ValueError as exc:
        raise UserError(f"cannot parse {manifest}: {exc}") from None
    missing = [c for c in ("path", "text") if c not in frame.columns]
    if missing:
        raise UserError(f"{manifest} lacks column(s) {', '.join(missing)}")
    return frame.reindex(columns=["path", "text", "id", "speaker", "split", "line"], fill_value=""), problems


def _unique(base: str, used: set[str]) -> str:
    """base, or base_2, base_3, ... if base is taken."""
    candidate, n = base, 1
    while candidate in used:
        n += 1
        candidate = f"{base}_{n}"
    return candidate


def _problem(source: Path, root: Path, text: str, split: str, given_id: str) -> str | None:
    """Why a manifest row cannot be used, or None."""
    if id_from_name(given_id) != given_id:
        return "the id holds a tab, newline or other control character"
    if split and split.lower() not in SPLITS:
        return f"bad split '{split}' (expected train, dev or test)"
    return source_problem(source, root, text)


def read_manifest_corpus(manifest: Path) -> CorpusScan:
    """Find the utterances a manifest lists; paths are relative to the manifest's folder."""
    manifest = Path(manifest)
    if not manifest.is_file():
        raise UserError(f"manifest not found: {manifest}")
    root, scan, used = manifest.parent, CorpusScan([], []), set()
    table, problems = _read_table(manifest)
    for line, reason in problems:
        scan.rejected.append(Rejection(f"line {line}", f"{manifest}:{line}", reason))
    for row in table.itertuples(index=False):
        path, text, split, given_id = row.path.strip(), row.text.strip(), row.split.strip(), row.id.strip()
        source = root / path
        utt_id = given_id or _unique(id_from_name(Path(path).stem) or "utt", used)
        reason = f"duplicate id '{given_id}'" if given_id in used else _problem(source, root, text, split, given_id)
        used.add(utt_id)
        if reason:
            scan.rejected.append(Rejection(utt_id, str(source), reason))
        else:
            speaker = row.speaker.strip() or "unknown"
            scan.utterances.append(SourceUtterance(utt_id, source, text, speaker, split.lower() or None))
    return scan
