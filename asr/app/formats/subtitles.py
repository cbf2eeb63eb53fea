"""Subtitle formats, composed by the `srt` and `webvtt-py` libraries: one cue per segment."""

import textwrap
from datetime import timedelta

import srt
import webvtt
from webvtt.models import Timestamp

from asr.app.formats.segments import cut_at_pauses

LINE_CHARACTERS = 42  # a cue's text is wrapped into lines of at most this many characters


def milliseconds(seconds: float) -> int:
    return round(seconds * 1000)


def cue_lines(text: str) -> str:
    return textwrap.fill(text, LINE_CHARACTERS)


def render_srt(record: dict) -> str:
    """SubRip: numbered cues, times to the millisecond."""
    cues = [srt.Subtitle(index, timedelta(milliseconds=milliseconds(s.start)),
                         timedelta(milliseconds=milliseconds(s.end)), cue_lines(s.text))
            for index, s in enumerate(cut_at_pauses(record["words"]), start=1)]
    return srt.compose(cues, reindex=False)


def render_vtt(record: dict) -> str:
    """WebVTT: a WEBVTT header, then the cues (webvtt-py takes their times as strings)."""
    captions = [webvtt.Caption(str(Timestamp.from_seconds(s.start)), str(Timestamp.from_seconds(s.end)),
                               cue_lines(s.text))
                for s in cut_at_pauses(record["words"])]
    return webvtt.WebVTT(captions=captions).content
