"""MFCC + delta + delta-delta features (python_speech_features) and CMVN statistics."""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import python_speech_features as psf

from asr.atomic import write_json
from asr.errors import UserError


CEPSTRAL_MEAN = ("none", "utterance", "utterance_variance")


@dataclass(frozen=True)
class FeatureSettings:
    sample_rate: int
    num_cep: int = 13
    num_filters: int = 26
    win_length: float = 0.025
    win_step: float = 0.01
    preemph: float = 0.97
    delta_window: int = 2
    # "utterance": subtract each utterance's mean cepstrum (and log energy) before the deltas, which
    # removes a fixed channel or vocal-tract tilt and the recording level; "utterance_variance":
    # also divide each cepstrum by its spread over the utterance (how loud against how flat a
    # voice or channel is); "none": keep them.
    cepstral_mean: str = "none"

    @property
    def dim(self) -> int:
        """Values per frame: cepstra, deltas and delta-deltas."""
        return 3 * self.num_cep

    @property
    def nfft(self) -> int:
        """Smallest power of two >= the window, so no window is truncated (512 is not enough at 44.1 kHz)."""
        return 1 << int(np.ceil(np.log2(self.win_length * self.sample_rate)))

    def validate(self) -> None:
        checks = [
            ("features.num_cep", self.num_cep, self.num_cep > 0),
            ("features.num_filters", self.num_filters, self.num_filters >= self.num_cep),
            ("features.win_length", self.win_length, self.win_length > 0),
            ("features.win_step", self.win_step, 0 < self.win_step <= self.win_length),
            ("features.delta_window", self.delta_window, self.delta_window >= 1),
            ("data.sample_rate", self.sample_rate, self.sample_rate >= 4000),
            ("features.cepstral_mean", self.cepstral_mean, self.cepstral_mean in CEPSTRAL_MEAN),
        ]
        for key, value, ok in checks:
            if not ok:
                raise UserError(f"{key} has an invalid value: {value!r}")

    def save(self, path) -> None:
        write_json(path, asdict(self))

    @classmethod
    def load(cls, path) -> "FeatureSettings":
        try:
            return cls(**json.loads(Path(path).read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise UserError(f"{path}: cannot read feature settings ({exc})") from None


def compute_features(audio: np.ndarray, settings: FeatureSettings) -> np.ndarray:
    """(samples,) float audio -> (frames, 3 * num_cep) float32: MFCC, delta, delta-delta."""
    mfcc = psf.mfcc(
        audio,
        samplerate=settings.sample_rate,
        winlen=settings.win_length,
        winstep=settings.win_step,
        numcep=settings.num_cep,
        nfilt=settings.num_filters,
        nfft=settings.nfft,
        preemph=settings.preemph,
        appendEnergy=True,
        winfunc=np.hamming,
    )  # (frames, num_cep)
    if settings.cepstral_mean in ("utterance", "utterance_variance"):
        mfcc = mfcc - mfcc.mean(axis=0, keepdims=True)
    if settings.cepstral_mean == "utterance_variance":
        # A constant cepstrum (digital silence) has no spread: leave it at zero rather than divide by 0.
        spread = mfcc.std(axis=0, keepdims=True)  # (1, num_cep)
        mfcc = mfcc / np.where(spread > 1e-8, spread, 1.0)
    delta = regression_delta(mfcc, settings.delta_window)
    delta2 = regression_delta(delta, settings.delta_window)
    return np.hstack([mfcc, delta, delta2]).astype(np.float32)


def regression_delta(features: np.ndarray, window: int) -> np.ndarray:
    """(frames, dim) -> (frames, dim) slope over +-window frames, edges repeated: psf.delta without its per-frame loop.

    d_t = sum_n n * (c_{t+n} - c_{t-n}) / (2 * sum_n n^2); psf.delta spends a fifth of the feature time looping over t.
    """
    frames = len(features)
    padded = np.pad(features, ((window, window), (0, 0)), mode="edge")  # (frames + 2 * window, dim)
    slope = np.zeros_like(features, dtype=np.float64)
    for n in range(1, window + 1):
        slope += n * (padded[window + n : window + n + frames] - padded[window - n : window - n + frames])
    return slope / (2 * sum(n * n for n in range(1, window + 1)))


@dataclass
class Normaliser:
    """Per-dimension mean and standard deviation (CMVN), estimated on the training split."""

    mean: np.ndarray  # (dim,)
    std: np.ndarray  # (dim,)

    def apply(self, features: np.ndarray) -> np.ndarray:
        return ((features - self.mean) / self.std).astype(np.float32)

    def save(self, path) -> None:
        write_json(path, {"mean": self.mean.tolist(), "std": self.std.tolist()})

    @classmethod
    def load(cls, path) -> "Normaliser":
        try:
            data = json.loads(Path(path).read_text())
            mean, std = np.asarray(data["mean"], np.float32), np.asarray(data["std"], np.float32)
        except (OSError, ValueError, KeyError) as exc:
            raise UserError(f"{path}: cannot read normalisation statistics ({exc})") from None
        if mean.shape != std.shape or mean.ndim != 1 or not np.all(std > 0):
            raise UserError(f"{path}: mean and std must be equal-length vectors with std > 0")
        return cls(mean, std)


class StatsAccumulator:
    """Streaming sums for mean/variance in float64 (one pass over a corpus larger than memory)."""

    def __init__(self, dim: int):
        self.count = 0
        self.total = np.zeros(dim, np.float64)
        self.total_sq = np.zeros(dim, np.float64)

    def add(self, features: np.ndarray) -> None:
        self.count += len(features)
        self.total += features.sum(axis=0, dtype=np.float64)
        self.total_sq += np.square(features, dtype=np.float64).sum(axis=0)

    def normaliser(self, min_std: float = 1e-5) -> Normaliser:
        if self.count == 0:
            raise UserError("no training frames to estimate normalisation statistics from")
        mean = self.total / self.count
        var = np.maximum(self.total_sq / self.count - mean**2, 0.0)
        return Normaliser(mean.astype(np.float32), np.maximum(np.sqrt(var), min_std).astype(np.float32))
