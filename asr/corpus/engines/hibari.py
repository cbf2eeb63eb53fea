"""Hibari neural TTS (hibari-tts) with the voices inside its wheel: text -> samples.

hibari downloads its other voices on first use; this module only ever hands it a model file
that ships in the package, so nothing is fetched and every machine speaks with the same voice.
The network is deterministic; its only randomness is the noise part of the spectrum, drawn on
the host from a numpy generator that `synthesise` seeds.
"""

from pathlib import Path

import numpy as np

from asr.corpus.engines.reserved import is_reserved
from asr.errors import UserError

PACKAGE = "hibari-tts"
DEFAULT_VOICE = "heart"



def _registry() -> tuple[dict, Path]:
    """(hibari's voice registry, its assets directory)."""
    try:
        from hibari.voices import ASSETS, VOICES
    except ImportError:
        raise UserError(f"Hibari TTS not available: pip install {PACKAGE}") from None
    return VOICES, Path(ASSETS)


def voice_model(voice: str) -> Path:
    """The ONNX model of a voice shipped in the wheel; UserError for any other (never downloads)."""
    registry, assets = _registry()
    if is_reserved(voice):
        raise UserError(f"Hibari voice {voice!r} is reserved for outside evaluation and must not be used")
    if voice not in registry:
        raise UserError(f"Hibari voice {voice!r} does not exist; voices in the {PACKAGE} wheel: {', '.join(voices())}")
    entry = registry[voice]
    if not entry.get("bundled"):
        raise UserError(f"Hibari voice {voice!r} is not in the {PACKAGE} wheel (it would be downloaded); "
                        f"usable: {', '.join(voices())}")  # fmt: skip
    path = assets / entry["file"]
    if not path.is_file():
        raise UserError(f"Hibari voice {voice!r}: {path} missing; reinstall the {PACKAGE} package")
    return path


def voices() -> list[str]:
    """Hibari voices usable here: those whose model ships inside the installed wheel."""
    registry, assets = _registry()
    return [name for name, entry in registry.items()
            if entry.get("bundled") and (assets / entry["file"]).is_file() and not is_reserved(name)]  # fmt: skip


class HibariSynth:
    """Hibari voices loaded once (one onnxruntime thread); `synthesise` gives float32 samples at 24 kHz.

    `voice_names` defaults to every voice in the wheel (see `voices()`).
    """

    def __init__(self, voice_names: list[str] | tuple[str, ...] | None = None):
        names = list(voice_names) if voice_names is not None else voices()
        if not names:
            raise UserError(f"no Hibari voice installed: pip install {PACKAGE}")
        from hibari import Hibari

        self._voices = {}
        for name in names:
            # An explicit model path: hibari never looks in (or downloads into) its cache.
            tts = Hibari(voice=name, model=str(voice_model(name)), threads=1)
            tts.g2p  # noqa: B018 - load the lexicons now, not on the first sentence
            self._voices[name] = tts

    def sample_rate(self, voice: str) -> int:
        return int(self._loaded(voice).sample_rate)

    def _loaded(self, voice: str):
        if voice not in self._voices:
            voice_model(voice)  # UserError saying why the voice is unusable
            raise UserError(f"Hibari voice {voice!r} was not loaded; loaded: {', '.join(self._voices)}")
        return self._voices[voice]

    def synthesise(self, text: str, voice: str, *, speed: float = 1.0, seed: int = 0):
        """Speak `text`; returns ((samples,) float32 in [-1, 1], sample_rate).

        speed > 1 is faster (hibari's 0.5-2.0 range). `seed` fixes the noise, so the samples
        depend only on the arguments; durations and pitch do not depend on it.
        """
        tts = self._loaded(voice)
        if int(seed) < 0:
            raise UserError(f"Hibari seed must be >= 0, got {seed}")
        if not speed > 0:
            raise UserError(f"Hibari speed must be > 0, got {speed}")
        samples = np.asarray(tts(text, speed=float(speed), seed=int(seed)), dtype=np.float32)
        peak = float(np.max(np.abs(samples))) if samples.size else 0.0
        if peak > 1.0:  # the vocoder's output is not bounded; a gain, never clipping
            samples = samples / np.float32(peak)
        return samples, int(tts.sample_rate)


class HibariEngine:
    """Hibari as a corpus engine: each utterance draws a speed and a noise seed."""

    name = "hibari"

    def __init__(self, speed=(0.8, 1.2)):
        low, high = (float(v) for v in speed)
        if not 0.5 <= low <= high <= 2.0:
            raise UserError(f"data.hibari.speed must be [min, max] within [0.5, 2.0], got {[low, high]}")
        self.speed = (low, high)
        self.synth = HibariSynth()

    def voices(self) -> list[str]:
        return voices()

    def speak(self, text: str, voice: str, rng: np.random.Generator):
        """((samples,) float32, rate, what was drawn) for `text`; all draws come from `rng`."""
        speed = round(float(rng.uniform(*self.speed)), 3)
        seed = int(rng.integers(2**31))
        audio, rate = self.synth.synthesise(text, voice, speed=speed, seed=seed)
        return audio, rate, f"speed {speed}"

    def close(self) -> None:
        pass
