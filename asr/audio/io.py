"""Audio I/O: any soundfile format -> mono float32 at one sample rate; 16-bit WAV out."""

import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from asr.atomic import atomic_path
from asr.audio.limits import BLOCK_SAMPLES, MAX_RESAMPLING_FACTOR, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE
from asr.errors import AudioError

# Peak below -80 dBFS is treated as silence: nothing a recogniser can use.
SILENCE_PEAK = 1e-4


class AudioTooLong(AudioError):
    """More audio than the caller's limit: reading stopped there."""


def check_rate(rate) -> int:
    """The rate as an int, or an AudioError for a header no recording has (1 Hz, billions of Hz)."""
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioError(f"implausible sample rate {rate} Hz in the header "
                         f"(accepted: {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz)")
    return int(rate)


def resampling_factors(orig_rate: int, target_rate: int) -> tuple[int, int]:
    """(up, down) for resample_poly, both at most MAX_RESAMPLING_FACTOR (exact for every common pair of rates)."""
    ratio = Fraction(int(target_rate), int(orig_rate))
    if max(ratio.numerator, ratio.denominator) > MAX_RESAMPLING_FACTOR:
        if ratio >= 1:  # bound `up` through the inverse ratio's denominator
            ratio = 1 / (1 / ratio).limit_denominator(MAX_RESAMPLING_FACTOR)
        else:
            ratio = ratio.limit_denominator(MAX_RESAMPLING_FACTOR)
    return ratio.numerator, ratio.denominator


def resample(audio: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Polyphase resampling (anti-aliased) from orig_rate to target_rate; an implausible orig_rate is an AudioError."""
    if orig_rate == target_rate:
        return audio.astype(np.float32, copy=False)
    up, down = resampling_factors(check_rate(orig_rate), target_rate)
    return resample_poly(audio, up, down).astype(np.float32)


def to_mono(audio: np.ndarray) -> np.ndarray:
    """(samples, channels) -> (samples,) by averaging channels."""
    return audio.mean(axis=1) if audio.ndim == 2 else audio


def check_audio(audio: np.ndarray) -> None:
    """Raise AudioError if the signal is empty, non-finite or silent."""
    if audio.size == 0:
        raise AudioError("empty audio (0 samples)")
    if not np.all(np.isfinite(audio)):
        raise AudioError("non-finite samples (NaN or inf)")
    peak = float(np.max(np.abs(audio)))
    if peak < SILENCE_PEAK:
        level = "-inf" if peak == 0 else f"{20 * np.log10(peak):.0f}"
        raise AudioError(f"silent audio (peak {level} dBFS)")


def open_audio(path, raw_rate: int | None = None) -> sf.SoundFile:
    """Open a file for block reading, its header checked; raw_rate: headerless little-endian 16-bit mono PCM."""
    path = Path(path)
    if not path.is_file():
        raise AudioError("file not found")
    try:
        name = os.fsencode(path)  # bytes: soundfile cannot encode a str holding a name that is not UTF-8
        if raw_rate is None:
            handle = sf.SoundFile(name)
        else:
            if path.stat().st_size % 2:
                raise AudioError(f"odd byte count ({path.stat().st_size}) for 16-bit PCM")
            handle = sf.SoundFile(name, samplerate=check_rate(raw_rate), channels=1, format="RAW",
                                  subtype="PCM_16", endian="LITTLE")
    except AudioError:
        raise
    except Exception as exc:  # soundfile raises LibsndfileError, RuntimeError, TypeError...
        raise AudioError(f"unreadable audio ({error_reason(exc)})") from None
    try:
        check_rate(handle.samplerate)
    except AudioError:
        handle.close()
        raise
    return handle


def checked_blocks(handle: sf.SoundFile, blocksize: int | None = None):
    """Yield (samples, channels) float32 blocks; a decoding error or a non-finite sample is an AudioError.

    A block holds at most BLOCK_SAMPLES samples, whatever the channel count. A corrupt or truncated file
    often opens fine (the header is intact) and fails only where its data does, minutes in: the caller
    must hear which file and where, not a libsndfile traceback.
    """
    blocksize = max(1, min(blocksize or BLOCK_SAMPLES, BLOCK_SAMPLES // max(handle.channels, 1)))
    blocks = handle.blocks(blocksize=blocksize, dtype="float32", always_2d=True)
    read = 0  # frames read so far, for the message
    while True:
        try:
            block = next(blocks)
        except StopIteration:
            return
        except Exception as exc:  # soundfile raises LibsndfileError, RuntimeError...
            raise AudioError(f"unreadable audio after {read / handle.samplerate:.1f} s ({error_reason(exc)})") from None
        if not np.all(np.isfinite(block)):  # a float file with garbage where its samples should be
            raise AudioError(f"non-finite samples (NaN or inf) after {read / handle.samplerate:.1f} s")
        read += len(block)
        yield block


def load_audio(path, target_rate: int, max_seconds: float | None = None, raw_rate: int | None = None,
               limit_name: str = "") -> np.ndarray:
    """Read any soundfile format (or raw PCM at raw_rate), mix to mono, resample; (samples,) float32 in [-1, 1].

    The file is read block by block and mixed to mono as it comes, so many channels cost no more memory
    than one; more than `max_seconds` of audio stops the reading with AudioTooLong (named `limit_name`).
    """
    with open_audio(path, raw_rate) as handle:
        rate = handle.samplerate
        limit = None if max_seconds is None else int(max_seconds * rate)
        parts, frames = [], 0
        for block in checked_blocks(handle):
            parts.append(to_mono(block))
            frames += len(block)
            if limit is not None and frames > limit:
                setting = f", {limit_name}" if limit_name else ""
                raise AudioTooLong(f"longer than the limit of {max_seconds:g} s{setting}")
    audio = resample(np.concatenate(parts) if parts else np.zeros(0, np.float32), rate, target_rate)
    check_audio(audio)
    return audio


def load_raw_pcm(path, raw_rate: int, target_rate: int) -> np.ndarray:
    """Headerless little-endian 16-bit mono PCM -> (samples,) float32 at target_rate."""
    return load_audio(path, target_rate, raw_rate=raw_rate)


def write_wav(path, audio: np.ndarray, rate: int) -> None:
    """Write mono 16-bit PCM WAV atomically (clipped to [-1, 1])."""
    pcm = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)
    with atomic_path(path) as tmp:
        sf.write(str(tmp), pcm, rate, subtype="PCM_16", format="WAV")


def error_reason(exc: Exception) -> str:
    """An exception's first line (or its type), short enough for a one-line message about a file."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
