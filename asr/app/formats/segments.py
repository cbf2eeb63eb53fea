"""Subtitle cues from word timings: a new cue at each pause, and before a cue grows too long to read."""

from dataclasses import dataclass

PAUSE_SECONDS = 0.5  # a silence this long between two words ends a cue
MAX_CUE_SECONDS = 7.0  # subtitle guidelines (BBC, Netflix) keep a cue on screen for at most about 7 s
MAX_CUE_CHARACTERS = 84  # two lines of 42 characters, the same guidelines' limit


@dataclass(frozen=True)
class Segment:
    start: float  # seconds: the first word's start
    end: float  # seconds: the last word's end
    text: str  # the words, one space apart


def cut_at_pauses(words: list[dict], pause: float = PAUSE_SECONDS, max_seconds: float = MAX_CUE_SECONDS,
                  max_characters: int = MAX_CUE_CHARACTERS) -> list[Segment]:
    """[{"word", "start", "end"}] in time order (a transcript's `words`) -> segments, each a run of whole words.

    A segment ends where the gap to the next word is at least `pause`, or where the next word would make it
    longer than `max_seconds` or `max_characters`; a single word longer than that is a segment of its own.
    """
    runs: list[list[dict]] = []
    for word in words:
        run = runs[-1] if runs else None
        if (run is None or word["start"] - run[-1]["end"] >= pause or word["end"] - run[0]["start"] > max_seconds
                or sum(len(w["word"]) + 1 for w in run) + len(word["word"]) > max_characters):
            runs.append([word])
        else:
            run.append(word)
    return [Segment(run[0]["start"], run[-1]["end"], " ".join(w["word"] for w in run)) for run in runs]
