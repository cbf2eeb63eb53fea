"""Text formats: the transcript as one line, as a table of timed segments, or as the JSON record."""

import json

from asr.app.formats.segments import cut_at_pauses


def render_txt(record: dict) -> str:
    """The text on one line."""
    return record["text"] + "\n"


def render_tsv(record: dict) -> str:
    """start, end (seconds) and text of each segment, under a header line."""
    rows = [f"{s.start:.3f}\t{s.end:.3f}\t{s.text}\n" for s in cut_at_pauses(record["words"])]
    return "start\tend\ttext\n" + "".join(rows)


def render_json(record: dict) -> str:
    """The record as one JSON line: path, text, duration, seconds, chars, words, model (what `--json` prints)."""
    return json.dumps(record) + "\n"
