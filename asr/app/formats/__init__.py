"""Output formats of `asr transcribe --format`: a renderer per format, from a transcript record to a document.

A record is `Transcript.__dict__` (path, text, duration, seconds, chars, words, model). A new format is a render
function in a module here and one entry in FORMATS.
"""

from dataclasses import dataclass
from typing import Callable

from asr.app.formats.plain import render_json, render_tsv, render_txt
from asr.app.formats.subtitles import render_srt, render_vtt


@dataclass(frozen=True)
class OutputFormat:
    render: Callable[[dict], str]  # record -> the document, ending in a newline
    extension: str  # of the file written per input with -o DIR
    needs_timings: bool  # built from word times: the transcriber runs the forced alignment


FORMATS = {
    "txt": OutputFormat(render_txt, ".txt", needs_timings=False),
    "tsv": OutputFormat(render_tsv, ".tsv", needs_timings=True),
    "json": OutputFormat(render_json, ".json", needs_timings=True),
    "srt": OutputFormat(render_srt, ".srt", needs_timings=True),
    "vtt": OutputFormat(render_vtt, ".vtt", needs_timings=True),
}
