"""What every corpus reader returns, and the conversion of its audio into the prepared layout."""

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from asr.audio.io import load_audio, write_wav
from asr.errors import AudioError

SPLITS = ("train", "dev", "test")
# engine: the synthesiser that spoke the utterance, or "recorded" for a real corpus.
MANIFEST_COLUMNS = ["id", "path", "text", "duration", "speaker", "engine", "split"]
REJECTED_COLUMNS = ["id", "source", "reason"]


@dataclass(frozen=True)
class SourceUtterance:
    """One utterance found by a reader: an audio file in any format and its transcript."""

    id: str
    source: Path
    text: str
    speaker: str
    split: str | None = None  # None: the corpus does not say; assign_splits decides


@dataclass(frozen=True)
class Rejection:
    """Something a reader or the converter could not use, and why."""

    id: str
    source: str
    reason: str


@dataclass
class CorpusScan:
    """What a reader found: usable utterances and rejections (missing transcript, ...)."""

    utterances: list[SourceUtterance]
    rejected: list[Rejection]


def is_inside(path: Path, root: Path) -> bool:
    """True if `path` resolves to a location under `root` (guards against ../ and symlinks out)."""
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def source_problem(source: Path, root: Path, text: str, duplicate: bool = False) -> str | None:
    """Why a reader must reject an utterance (checked in this order), or None if it is usable."""
    if not is_inside(source, root):
        return "path outside dataset root"
    if duplicate:
        return "duplicate id"
    if not source.is_file():
        return "audio file not found"
    if not text:
        return "missing transcript"
    return None


_UNPRINTABLE = re.compile("[\x00-\x1f\x7f\udc80-\udcff]")  # control characters, bytes that were not UTF-8


def id_from_name(name: str) -> str:
    """An utterance id from a file name: tabs, newlines and undecodable bytes (which would break the CSVs) as _."""
    return _UNPRINTABLE.sub("_", name)


def safe_id(text: str) -> str:
    """A file-name-safe utterance id."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)


def convert_utterances(utterances, out_dir: Path, sample_rate: int, max_seconds: float | None = None):
    """Load, check and write each utterance as mono 16-bit WAV under out_dir/audio/<split>/.

    Returns (manifest rows, rejections). Every utterance must already have a split. A file longer than
    `max_seconds` (data.max_seconds) is rejected after reading that much of it, whatever its header says.
    Manifest paths are relative to out_dir.
    """
    rows, rejected, used = [], [], set()
    for utt in tqdm(utterances, desc="convert audio", unit="utt", mininterval=1.0):
        if utt.split not in SPLITS:
            raise ValueError(f"{utt.id}: no split assigned")
        relative = Path("audio") / utt.split / f"{safe_id(utt.id)}.wav"
        if relative in used:
            rejected.append(Rejection(utt.id, str(utt.source), f"id collides with another as {relative.name}"))
            continue
        used.add(relative)
        try:
            audio = load_audio(utt.source, sample_rate, max_seconds, limit_name="data.max_seconds")
        except AudioError as exc:
            rejected.append(Rejection(utt.id, str(utt.source), str(exc)))
            continue
        write_wav(out_dir / relative, audio, sample_rate)
        rows.append(
            dict(
                id=utt.id,
                path=relative.as_posix(),
                text=utt.text,
                duration=round(len(audio) / sample_rate, 4),
                speaker=utt.speaker,
                engine="recorded",
                split=utt.split,
            )
        )
    return rows, rejected


def first_reasons(rejected, count: int = 3) -> str:
    """The first `count` rejections as 'source: reason; ...' for a one-line message."""
    shown = "; ".join(f"{r.source}: {r.reason}" for r in rejected[:count])
    return shown + ("; ..." if len(rejected) > count else "")


def rejected_frame(rejected) -> pd.DataFrame:
    """Rejections as the rows of rejected.csv."""
    return pd.DataFrame([r.__dict__ for r in rejected], columns=REJECTED_COLUMNS)
