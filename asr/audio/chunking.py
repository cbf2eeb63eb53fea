"""Split long recordings at quiet points so transcription memory stays flat."""

import numpy as np

from asr.audio.io import checked_blocks, open_audio, resample, to_mono


def best_cut(audio: np.ndarray, rate: int, search_from: int, floor_dbfs: float = -40.0) -> int:
    """Where to end a chunk: the middle of the longest pause in audio[search_from:], else its quietest point."""
    window = grid_step(rate)
    runs = quiet_runs(audio[search_from:], rate, floor_dbfs)
    if not runs:
        return quietest_cut(audio, rate, search_from)
    first, last = max(runs, key=lambda run: run[1] - run[0])
    return search_from + (first + last) // 2 // window * window  # on the 20 ms grid


def next_cut(piece: np.ndarray, rate: int, search_seconds: float) -> int:
    """Where a full-length piece ends: at a pause in its last `search_seconds`, never in its first half.

    A piece starts at the previous cut, which is a quiet point; searching the whole of a short piece
    would find that point again at 0 and never move on (audio without pauses, chunks under 5 s).
    """
    search_from = max(len(piece) // 2, len(piece) - int(search_seconds * rate))
    return max(1, best_cut(piece, rate, search_from))


def quietest_cut(audio: np.ndarray, rate: int, search_from: int) -> int:
    """Sample index where the quietest 20 ms window of audio[search_from:] starts (a pause between words)."""
    window, power = frame_power(audio[search_from:], rate)
    if len(power) < 2:
        return len(audio)
    return search_from + int(power.argmin()) * window  # on the 20 ms grid, so cuts do not drift


def grid_step(rate: int) -> int:
    """Samples in 20 ms: pauses are measured, and cuts placed, on this grid."""
    return max(1, int(0.02 * rate))


def frame_power(audio: np.ndarray, rate: int) -> tuple[int, np.ndarray]:
    """(window, mean power of each whole 20 ms window (frames,))."""
    window = grid_step(rate)
    frames = len(audio) // window
    return window, np.square(audio[: frames * window].reshape(frames, window)).mean(axis=1)


def stream_chunks(path, target_rate: int, max_seconds: float, search_seconds: float = 5.0, raw_rate: int | None = None):
    """Yield (offset_seconds, (samples,) float32 at target_rate) pieces of at most max_seconds.

    The file (raw PCM at raw_rate if given) is read block by block, never whole; each piece ends at the
    quietest point of its last `search_seconds` (its second half at most), so words are not cut in two.
    """
    with open_audio(path, raw_rate) as handle:
        rate = handle.samplerate
        limit = int(max_seconds * rate)
        buffer = np.zeros(0, np.float32)
        consumed = 0  # samples (at the file's rate) already emitted
        for block in checked_blocks(handle, limit):
            buffer = np.concatenate([buffer, to_mono(block)])
            while len(buffer) > limit:
                cut = next_cut(buffer[:limit], rate, search_seconds)
                yield float(consumed / rate), resample(buffer[:cut], rate, target_rate)
                consumed += cut
                buffer = buffer[cut:]
        yield float(consumed / rate), resample(buffer, rate, target_rate)


def chunk_array(audio: np.ndarray, rate: int, max_seconds: float, search_seconds: float = 5.0):
    """The same cuts for audio already in memory (e.g. raw PCM): yields (offset_seconds, piece)."""
    limit, start = int(max_seconds * rate), 0
    while len(audio) - start > limit:
        cut = next_cut(audio[start : start + limit], rate, search_seconds)
        yield float(start / rate), audio[start : start + cut]
        start += cut
    yield float(start / rate), audio[start:]


def quiet_runs(audio: np.ndarray, rate: int, floor_dbfs: float) -> list[tuple[int, int]]:
    """(first, last + 1) sample ranges of consecutive 20 ms frames quieter than floor_dbfs (RMS)."""
    window, power = frame_power(audio, rate)
    frames = len(power)
    quiet = np.concatenate([[False], power < 10 ** (floor_dbfs / 10), [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))  # alternating run starts and ends, in frames
    runs = [(a * window, b * window) for a, b in zip(edges[::2], edges[1::2])]
    if runs and runs[-1][1] == frames * window:
        runs[-1] = (runs[-1][0], len(audio))  # a quiet tail includes the last partial frame
    return runs


def split_at_pauses(audio: np.ndarray, rate: int, min_pause: float = 0.3, keep: float = 0.1,
                    floor_dbfs: float = -40.0):
    """Yield (offset_seconds, segment) for each stretch of sound between pauses of at least `min_pause`.

    A pause is a run of 20 ms frames quieter than `floor_dbfs`; `keep` seconds of it stay on each
    side of the sound, and quiet at either end of `audio` is trimmed the same way. The floor is
    absolute, so the same audio is cut the same way wherever it sits in a recording (or a chunk):
    a long recording reaches the model as utterance-sized pieces with short margins, like the
    ones it was trained on.
    """
    margin = int(keep * rate)
    dropped = []
    for first, last in quiet_runs(audio, rate, floor_dbfs):
        at_edge = first == 0 or last == len(audio)
        if at_edge or last - first >= min_pause * rate:
            lo = first if first == 0 else first + margin
            hi = last if last == len(audio) else last - margin
            if hi > lo:
                dropped.append((lo, hi))
    start = 0
    for lo, hi in dropped + [(len(audio), len(audio))]:
        if lo > start:
            yield float(start / rate), audio[start:lo]
        start = hi
