"""Split long recordings at quiet points so transcription memory stays flat."""

import numpy as np
import soundfile as sf

from asr.audio import resample, to_mono
from asr.errors import AudioError


def quietest_cut(audio: np.ndarray, rate: int, search_from: int) -> int:
    """Sample index of the quietest 20 ms window start in audio[search_from:] (a pause between words)."""
    window = max(1, int(0.02 * rate))
    tail = audio[search_from:]
    if len(tail) < 2 * window:
        return len(audio)
    frames = len(tail) // window
    energy = np.square(tail[: frames * window].reshape(frames, window)).mean(axis=1)
    return search_from + int(energy.argmin()) * window + window // 2


def stream_chunks(path, target_rate: int, max_seconds: float, search_seconds: float = 5.0):
    """Yield (offset_seconds, (samples,) float32 at target_rate) pieces of at most max_seconds.

    The file is read block by block, never whole; each piece ends at the quietest point of its
    last `search_seconds`, so words are not cut in two.
    """
    try:
        handle = sf.SoundFile(str(path))
    except Exception as exc:  # soundfile raises several types for unreadable input
        raise AudioError(f"unreadable audio ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    with handle:
        rate = handle.samplerate
        limit = int(max_seconds * rate)
        buffer = np.zeros(0, np.float32)
        consumed = 0  # samples (at the file's rate) already emitted
        for block in handle.blocks(blocksize=limit, dtype="float32", always_2d=True):
            buffer = np.concatenate([buffer, to_mono(block)])
            while len(buffer) > limit:
                cut = quietest_cut(buffer[:limit], rate, max(0, limit - int(search_seconds * rate)))
                yield consumed / rate, resample(buffer[:cut], rate, target_rate)
                consumed += cut
                buffer = buffer[cut:]
        yield consumed / rate, resample(buffer, rate, target_rate)


def chunk_array(audio: np.ndarray, rate: int, max_seconds: float, search_seconds: float = 5.0):
    """The same cuts for audio already in memory (e.g. raw PCM): yields (offset_seconds, piece)."""
    limit, start = int(max_seconds * rate), 0
    while len(audio) - start > limit:
        cut = quietest_cut(audio[start : start + limit], rate, max(0, limit - int(search_seconds * rate)))
        yield start / rate, audio[start : start + cut]
        start += cut
    yield start / rate, audio[start:]


def split_at_pauses(audio: np.ndarray, rate: int, min_pause: float = 0.3, keep: float = 0.1,
                    floor_db: float = 40.0):
    """Yield (offset_seconds, segment) for each stretch of sound, dropping pauses of at least `min_pause`.

    A pause is a run of 20 ms frames more than `floor_db` below the loudest frame; `keep` seconds
    of it stay on each side of the sound. A long recording then reaches the model as
    utterance-sized pieces with short margins, like the ones it was trained on.
    """
    window = max(1, int(0.02 * rate))
    frames = len(audio) // window
    if frames < 2:
        yield 0.0, audio
        return
    power = np.square(audio[: frames * window].reshape(frames, window)).mean(axis=1)
    quiet = np.append(power < power.max() * 10 ** (-floor_db / 10), False)
    need, margin = int(np.ceil(min_pause / 0.02)), int(keep * rate)
    start, run_start = 0, None
    for k, is_quiet in enumerate(quiet):
        if is_quiet and run_start is None:
            run_start = k
        elif not is_quiet and run_start is not None:
            if k - run_start >= need:
                pause_start, pause_end = run_start * window, min(k * window, len(audio))
                if pause_start > start:  # there was sound before this pause
                    end = min(pause_start + margin, pause_end)
                    yield start / rate, audio[start:end]
                start = max(pause_end - margin, pause_start) if k < frames else len(audio)
            run_start = None
    if start < len(audio):
        yield start / rate, audio[start:]
