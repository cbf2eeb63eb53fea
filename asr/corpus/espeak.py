"""A small ctypes binding to eSpeak NG (shipped by the espeakng-loader wheel): text -> samples."""

import ctypes
from pathlib import Path

import numpy as np

from asr.errors import UserError

# Constants from espeak-ng's speak_lib.h.
AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_INITIALIZE_DONT_EXIT = 0x8000  # report a missing data path instead of calling exit()
ESPEAK_RATE, ESPEAK_PITCH = 1, 3
ESPEAK_CHARS_UTF8 = 1
POS_CHARACTER = 1
EE_OK = 0

# int callback(short *wav, int numsamples, espeak_EVENT *events); returning 0 means "continue".
SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

_instance = None  # espeak-ng keeps global state: one initialised library per process


def espeak_paths() -> tuple[Path, Path]:
    """(shared library, espeak-ng-data directory) from the espeakng-loader package."""
    try:
        import espeakng_loader
    except ImportError:
        raise UserError("eSpeak NG not available: the espeakng-loader package is not installed") from None
    try:
        return Path(espeakng_loader.get_library_path()), Path(espeakng_loader.get_data_path())
    except RuntimeError as exc:
        raise UserError(f"eSpeak NG data not found: {exc}") from None


def list_variants(data_path: Path) -> list[str]:
    """Voice variant names (m1, f3, klatt, ...) available in espeak-ng-data/voices/!v."""
    folder = data_path / "voices" / "!v"
    return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def list_languages(data_path: Path) -> list[str]:
    """Language codes declared by the files under espeak-ng-data/lang (first `language` line)."""
    codes = []
    for path in sorted((data_path / "lang").rglob("*")):
        if path.is_file():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "language":
                    codes.append(parts[1])
                    break
    return codes


class EspeakSynth:
    """eSpeak NG in synchronous mode; `synthesise` returns float32 samples at `sample_rate`."""

    def __init__(self):
        global _instance
        if _instance is not None:
            raise RuntimeError("EspeakSynth: one instance per process (espeak-ng has global state)")
        lib_path, self.data_path = espeak_paths()
        try:
            self._lib = ctypes.CDLL(str(lib_path))
        except OSError as exc:
            raise UserError(f"cannot load eSpeak NG library {lib_path}: {exc}") from None
        self._declare_signatures()
        rate = self._lib.espeak_Initialize(
            AUDIO_OUTPUT_SYNCHRONOUS, 0, str(self.data_path).encode(), ESPEAK_INITIALIZE_DONT_EXIT
        )
        if rate <= 0:
            raise UserError(f"cannot initialise eSpeak NG with data {self.data_path} (error {rate})")
        self.sample_rate = int(rate)
        self._chunks: list[np.ndarray] = []
        # Kept on self: ctypes frees the trampoline when the Python object is collected.
        self._callback = SYNTH_CALLBACK(self._collect)
        self._lib.espeak_SetSynthCallback(self._callback)
        self._voice = None
        _instance = self

    def _declare_signatures(self):
        lib = self._lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [SYNTH_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
            ctypes.c_uint, ctypes.c_uint, ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p,
        ]  # fmt: skip
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.argtypes = []
        lib.espeak_Synchronize.restype = ctypes.c_int
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_ng_SetRandSeed.restype = None

    def _collect(self, wav, num_samples, events):
        if num_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
        return 0

    def set_voice(self, voice: str) -> None:
        """Select a voice such as "en-us+m3" (language code, optionally +variant)."""
        if voice == self._voice:
            return
        status = self._lib.espeak_SetVoiceByName(voice.encode())
        if status != EE_OK:
            raise UserError(f"eSpeak NG voice {voice!r} cannot be loaded (error {status})")
        self._voice = voice

    def synthesise(self, text: str, voice: str, rate_wpm: int, pitch: int, seed: int = 0):
        """Speak `text`; returns ((samples,) float32 in [-1, 1], sample_rate).

        `seed` seeds espeak's internal random generator (breath noise, Klatt noise) so the
        result depends only on the arguments, not on what this process synthesised before.
        """
        self.set_voice(voice)
        self._lib.espeak_SetParameter(ESPEAK_RATE, int(rate_wpm), 0)
        self._lib.espeak_SetParameter(ESPEAK_PITCH, int(pitch), 0)
        self._lib.espeak_ng_SetRandSeed(int(seed))
        data = text.encode("utf-8") + b"\0"
        self._chunks = []
        status = self._lib.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0, ESPEAK_CHARS_UTF8, None, None)
        if status != EE_OK:
            raise UserError(f"eSpeak NG failed to synthesise {text!r} with voice {voice!r} (error {status})")
        self._lib.espeak_Synchronize()
        samples = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        self._chunks = []
        return samples.astype(np.float32) / 32768.0, self.sample_rate
