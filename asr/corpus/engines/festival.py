"""Festival (Debian packages `festival` and `festvox-kdlpc16k`) as a corpus engine: the US English
diphone voice ked_diphone, run through `text2wave` as a subprocess.

Festival's kal_diphone and cmu_us_slt* voices are reserved for outside evaluation and refused.
Festival is deterministic: the variation is its duration stretch and the target mean and spread
of the pitch contour (its int_lr_params), drawn per utterance.
"""

import shutil
import subprocess

import numpy as np

from asr.corpus.engines.command import TIMEOUT_SECONDS, speak_to_wav
from asr.corpus.engines.reserved import is_reserved
from asr.errors import UserError

# Voice -> the Debian package that installs it. Only English voices that are not reserved.
USABLE_VOICES = {"ked_diphone": "festvox-kdlpc16k"}


def text2wave_binary() -> str:
    path = shutil.which("text2wave")
    if path is None:
        raise UserError("engine festival is not installed: apt-get install festival festvox-kdlpc16k")
    return path


def voices() -> list[str]:
    """Usable Festival voices that are installed (never a reserved one)."""
    text2wave_binary()
    listing = subprocess.run(["festival", "--pipe"], input="(print (voice.list))", capture_output=True, text=True,
                             timeout=TIMEOUT_SECONDS)
    listed = set(listing.stdout.replace("(", " ").replace(")", " ").split())
    return [v for v in USABLE_VOICES if v in listed and not is_reserved(v)]


def _range(key: str, values) -> tuple[float, float]:
    low, high = (float(v) for v in values)
    if not 0 < low <= high:
        raise UserError(f"data.festival.{key} must be [min, max] with 0 < min <= max, got {list(values)}")
    return low, high


class FestivalEngine:
    """Festival's ked_diphone; each utterance draws a duration stretch and a pitch mean and spread (Hz)."""

    name = "festival"

    def __init__(self, duration_stretch=(0.95, 1.3), pitch_mean=(85, 140), pitch_std=(10, 25)):
        self.binary = text2wave_binary()
        self.duration_stretch = _range("duration_stretch", duration_stretch)
        self.pitch_mean = _range("pitch_mean", pitch_mean)
        self.pitch_std = _range("pitch_std", pitch_std)
        if not voices():
            raise UserError("engine festival has no usable voice: apt-get install festvox-kdlpc16k")

    def voices(self) -> list[str]:
        return voices()

    def speak(self, text: str, voice: str, rng: np.random.Generator):
        """((samples,) float32, rate, what was drawn) for `text`; all draws come from `rng`."""
        if is_reserved(voice) or voice not in USABLE_VOICES:
            raise UserError(f"Festival voice {voice!r} is not usable here (usable: {', '.join(USABLE_VOICES)}); "
                            f"kal_diphone and cmu_us_slt are reserved for outside evaluation")
        stretch = round(float(rng.uniform(*self.duration_stretch)), 3)
        mean = round(float(rng.uniform(*self.pitch_mean)), 1)
        spread = round(float(rng.uniform(*self.pitch_std)), 1)
        # The voice sets its own int_lr_params, so ours are evaluated after selecting it.
        settings = [f"(voice_{voice})", f"(Parameter.set 'Duration_Stretch {stretch})",
                    f"(set! int_lr_params '((target_f0_mean {mean}) (target_f0_std {spread}) "
                    f"(model_f0_mean 170) (model_f0_std 34)))"]
        evals = [arg for setting in settings for arg in ("-eval", setting)]
        audio, rate = speak_to_wav(lambda wav: [self.binary, "-o", str(wav), *evals], f"festival {voice}", text,
                                   stdin=text)
        return audio, rate, f"duration_stretch {stretch} pitch_mean {mean} pitch_std {spread}"

    def close(self) -> None:
        pass
