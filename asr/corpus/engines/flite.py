"""Flite (Debian package `flite`) as a corpus engine: the voices awb and rms, run as a subprocess.

Flite's kal, kal16 and slt voices are reserved for outside evaluation and refused; awb_time
only speaks clock times. Flite is deterministic: the variation is its duration stretch and
mean pitch, drawn per utterance.
"""

import shutil
import subprocess

import numpy as np

from asr.corpus.engines.command import TIMEOUT_SECONDS, speak_to_wav
from asr.corpus.engines.reserved import is_reserved
from asr.errors import UserError

USABLE_VOICES = ("awb", "rms")


def flite_binary() -> str:
    path = shutil.which("flite")
    if path is None:
        raise UserError("engine flite is not installed: apt-get install flite")
    return path


def voices() -> list[str]:
    """Usable Flite voices: awb and rms where the installed flite lists them (never a reserved one)."""
    listing = subprocess.run([flite_binary(), "-lv"], capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    listed = set(listing.stdout.replace("Voices available:", "").split())
    return [v for v in USABLE_VOICES if v in listed and not is_reserved(v)]


class FliteEngine:
    """Flite voices awb and rms; each utterance draws a duration stretch and a mean pitch (Hz)."""

    name = "flite"

    def __init__(self, duration_stretch=(0.85, 1.2), pitch_mean=(85, 130)):
        self.binary = flite_binary()
        self.duration_stretch = tuple(float(v) for v in duration_stretch)
        self.pitch_mean = tuple(float(v) for v in pitch_mean)
        if not 0 < self.duration_stretch[0] <= self.duration_stretch[1] or not 0 < self.pitch_mean[0] <= self.pitch_mean[1]:
            raise UserError(f"data.flite: duration_stretch and pitch_mean must be [min, max] with 0 < min <= max, "
                            f"got {list(self.duration_stretch)} / {list(self.pitch_mean)}")

    def voices(self) -> list[str]:
        return voices()

    def speak(self, text: str, voice: str, rng: np.random.Generator):
        """((samples,) float32, rate, what was drawn) for `text`; all draws come from `rng`."""
        if is_reserved(voice) or voice not in USABLE_VOICES:
            raise UserError(f"Flite voice {voice!r} is not usable here (usable: {', '.join(USABLE_VOICES)}); "
                            f"kal, kal16 and slt are reserved for outside evaluation")
        stretch = round(float(rng.uniform(*self.duration_stretch)), 3)
        pitch = round(float(rng.uniform(*self.pitch_mean)), 1)
        audio, rate = speak_to_wav(
            lambda wav: [self.binary, "-voice", voice, "--setf", f"duration_stretch={stretch}",
                         "--setf", f"int_f0_target_mean={pitch}", "-t", text, "-o", str(wav)],
            f"flite {voice}", text)
        return audio, rate, f"duration_stretch {stretch} pitch_mean {pitch}"

    def close(self) -> None:
        pass
