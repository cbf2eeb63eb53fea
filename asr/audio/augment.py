"""Pseudo-speakers and channels for training audio: speed, pitch, room, noise, telephone, gain.

Kaldi-style speed perturbation (resampling, so tempo and pitch move together) and the
telephone round trip use scipy; pitch shift, simulated rooms (pyroomacoustics), coloured
noise and gain use audiomentations. audiomentations draws from the global `random` and
`numpy.random` generators, so `augment` seeds both from its own generator first: the result
depends only on (audio, settings, rng state).
"""

import random
from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, sosfiltfilt

from asr.audio.io import resample
from asr.errors import UserError

TELEPHONE_RATE = 8000
TELEPHONE_BAND_HZ = (300.0, 3400.0)


@dataclass(frozen=True)
class AugmentSettings:
    """The keys of `data.augment`; each transform applies with its probability `*_p`."""

    speeds: tuple[float, ...] = (0.9, 1.0, 1.1)  # one drawn per utterance, as in Kaldi recipes
    pitch_p: float = 0.5
    pitch_semitones: tuple[float, float] = (-3.0, 3.0)
    reverb_p: float = 0.3
    rt60_seconds: tuple[float, float] = (0.15, 0.6)
    noise_p: float = 0.5
    noise_snr_db: tuple[float, float] = (10.0, 30.0)
    telephone_p: float = 0.15
    gain_db: tuple[float, float] = (-6.0, 6.0)

    def __post_init__(self):
        for name in ("pitch_semitones", "rt60_seconds", "noise_snr_db", "gain_db"):
            value = tuple(float(v) for v in getattr(self, name))
            if len(value) != 2 or value[0] > value[1]:
                raise UserError(f"data.augment.{name} must be [min, max] with min <= max, got {list(value)}")
            object.__setattr__(self, name, value)
        object.__setattr__(self, "speeds", tuple(float(s) for s in self.speeds))
        if not self.speeds or min(self.speeds) <= 0:
            raise UserError(f"data.augment.speeds must be a non-empty list of factors > 0, got {list(self.speeds)}")
        for name in ("pitch_p", "reverb_p", "noise_p", "telephone_p"):
            if not 0 <= getattr(self, name) <= 1:
                raise UserError(f"data.augment.{name} must be in [0, 1], got {getattr(self, name)}")


def speed_perturb(audio: np.ndarray, rate: int, factor: float) -> np.ndarray:
    """Play `audio` `factor` times faster (pitch moves with it): resample to rate/factor, keep `rate`."""
    if factor == 1.0:
        return audio
    return resample(audio, rate, int(round(rate / factor, -2)))  # a 100 Hz grid keeps the polyphase filter small


def telephone(audio: np.ndarray, rate: int) -> np.ndarray:
    """A narrow-band channel: 300-3400 Hz band-pass, down to 8 kHz and back up."""
    sos = butter(4, TELEPHONE_BAND_HZ, btype="bandpass", fs=rate, output="sos")
    narrow = sosfiltfilt(sos, audio).astype(np.float32)
    return resample(resample(narrow, rate, TELEPHONE_RATE), TELEPHONE_RATE, rate)[: len(audio)]


def augment(audio: np.ndarray, rate: int, settings: AugmentSettings, rng: np.random.Generator):
    """(augmented (samples,) float32, what was applied). Every draw is made whatever its outcome."""
    import audiomentations as am  # imported here: it pulls in librosa, and only `prepare` needs it

    speed = float(settings.speeds[int(rng.integers(len(settings.speeds)))])
    applied = {name: bool(rng.random() < p) for name, p in
               (("pitch", settings.pitch_p), ("reverb", settings.reverb_p), ("noise", settings.noise_p),
                ("telephone", settings.telephone_p))}
    library_seed = int(rng.integers(2**31))
    random.seed(library_seed)
    np.random.seed(library_seed)
    steps = [f"speed {speed}"] if speed != 1.0 else []
    audio = speed_perturb(audio, rate, speed)
    if applied["pitch"]:
        audio = am.PitchShift(*settings.pitch_semitones, p=1.0)(samples=audio, sample_rate=rate)
        steps.append("pitch")
    if applied["reverb"]:
        room = am.RoomSimulator(calculation_mode="rt60", min_target_rt60=settings.rt60_seconds[0],
                                max_target_rt60=settings.rt60_seconds[1], use_ray_tracing=False,
                                leave_length_unchanged=True, p=1.0)
        audio = room(samples=audio, sample_rate=rate)
        steps.append("reverb")
    if applied["telephone"]:
        audio = telephone(audio, rate)
        steps.append("telephone")
    if applied["noise"]:
        noise = am.AddColorNoise(min_snr_db=settings.noise_snr_db[0], max_snr_db=settings.noise_snr_db[1], p=1.0)
        audio = noise(samples=audio, sample_rate=rate)
        steps.append("noise")
    audio = am.Gain(min_gain_db=settings.gain_db[0], max_gain_db=settings.gain_db[1], p=1.0)(samples=audio,
                                                                                           sample_rate=rate)
    return np.asarray(audio, dtype=np.float32), " ".join(steps) or "none"
