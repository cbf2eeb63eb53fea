"""Audio I/O: any soundfile format -> mono float32 at one sample rate; 16-bit WAV out."""

from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from asr.atomic import atomic_path
from asr.errors import AudioError

# Peak below -80 dBFS is treated as silence: nothing a recogniser can use.
SILENCE_PEAK = 1e-4


def resample(audio: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Polyphase resampling (anti-aliased) from orig_rate to target_rate."""
    if orig_rate == target_rate:
        return audio.astype(np.float32, copy=False)
    divisor = gcd(int(orig_rate), int(target_rate))
    up, down = int(target_rate) // divisor, int(orig_rate) // divisor
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


def load_audio(path, target_rate: int) -> np.ndarray:
    """Read any soundfile format, mix to mono, resample; (samples,) float32 in [-1, 1]."""
    path = Path(path)
    if not path.is_file():
        raise AudioError("file not found")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises LibsndfileError, RuntimeError, TypeError...
        raise AudioError(f"unreadable audio ({error_reason(exc)})") from None
    audio = resample(to_mono(data), rate, target_rate)
    check_audio(audio)
    return audio


def load_raw_pcm(path, raw_rate: int, target_rate: int) -> np.ndarray:
    """Headerless little-endian 16-bit mono PCM -> (samples,) float32 at target_rate."""
    path = Path(path)
    if not path.is_file():
        raise AudioError("file not found")
    try:
        raw = path.read_bytes()
    except OSError as exc:  # permission denied, a read error on the disk
        raise AudioError(f"unreadable file ({exc.strerror or error_reason(exc)})") from None
    if len(raw) % 2:
        raise AudioError(f"odd byte count ({len(raw)}) for 16-bit PCM")
    audio = resample(np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0, raw_rate, target_rate)
    check_audio(audio)
    return audio


def write_wav(path, audio: np.ndarray, rate: int) -> None:
    """Write mono 16-bit PCM WAV atomically (clipped to [-1, 1])."""
    pcm = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)
    with atomic_path(path) as tmp:
        sf.write(str(tmp), pcm, rate, subtype="PCM_16", format="WAV")


def error_reason(exc: Exception) -> str:
    """An exception's first line (or its type), short enough for a one-line message about a file."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
