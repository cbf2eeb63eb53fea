"""A small ctypes binding to eSpeak NG (shipped by the espeakng-loader wheel): text -> samples.

eSpeak NG keeps synthesis state in C globals that its API cannot reset (pitch-flutter
position, automatic gain, echo buffer, resonator memory), so the same call gives different
samples depending on what the process spoke before. To make every utterance depend only on
its own arguments, `EspeakSynth.synthesise` loads the library fresh, speaks, and unloads it
again (about 1 ms).
"""

import ctypes
import os
import tempfile
import threading
from contextlib import ExitStack, contextmanager
from pathlib import Path

import _ctypes
import numpy as np

from asr.errors import UserError

# Constants from espeak-ng's speak_lib.h.
AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_INITIALIZE_DONT_EXIT = 0x8000  # report a missing data path instead of calling exit()
ESPEAK_RATE, ESPEAK_PITCH = 1, 3
ESPEAK_CHARS_UTF8 = 1
POS_CHARACTER = 1
EE_OK = 0
PHONEMES_IPA = 0x02  # espeak_TextToPhonemes' phonememode bit: IPA symbols instead of eSpeak's ASCII names

# int callback(short *wav, int numsamples, espeak_EVENT *events); returning 0 means "continue".
SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

_LIBC = ctypes.CDLL(None)  # this process's C library, for srand()

# Accents are eSpeak language files (lang/gmw/); "en" is British English.
ACCENTS = ("en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
# Variants are files in voices/!v: seven male, seven female, three Klatt-synthesiser voices.
VARIANTS = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7",
    "f1", "f2", "f3", "f4", "f5", "linda", "steph",
    "klatt", "klatt2", "klatt3",
)  # fmt: skip


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
    """Voice variants (m1, f3, klatt, ...) usable in a voice name: files in voices/!v.

    eSpeak lower-cases the name it looks up, so files with capitals cannot be selected.
    """
    folder = Path(data_path) / "voices" / "!v"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file() and p.name == p.name.lower() and " " not in p.name)


def language_files(data_path: Path) -> dict[str, str]:
    """Language code (lower-case file name: en, en-us, ...) -> its file relative to lang/."""
    folder = Path(data_path) / "lang"
    files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    codes = {}
    for path in files:
        codes.setdefault(path.name.lower(), path.relative_to(folder).as_posix())
    return codes


@contextmanager
def case_folded_data(data_path: Path):
    """Yield a temporary espeak-ng-data (symlinks) whose language files have lower-case names.

    eSpeak lower-cases a voice name before opening lang/<name>; for en-US & co. that fails
    and it falls back to reading every voice file (~6 ms per voice change). With lower-case
    names it opens the file directly (~0.3 ms).
    """
    data_path = Path(data_path).resolve()
    with tempfile.TemporaryDirectory(prefix="espeak-") as tmp:
        folded = Path(tmp) / "espeak-ng-data"
        folded.mkdir()
        for entry in data_path.iterdir():
            if entry.name != "lang":
                (folded / entry.name).symlink_to(entry)
        for code, relative in language_files(data_path).items():
            link = folded / "lang" / Path(relative).parent / code
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(data_path / "lang" / relative)
        yield folded


class EspeakSynth:
    """eSpeak NG in synchronous mode; `synthesise` returns float32 samples and the rate (22050).

    `data_path` defaults to the espeakng-loader data (see `case_folded_data` for a faster
    one). Instances in one process share the single C library, so calls are serialised.
    """

    _lock = threading.Lock()

    def __init__(self, data_path: Path | None = None):
        self.library_path, default_data = espeak_paths()
        self.data_path = Path(data_path) if data_path is not None else default_data
        if not self.library_path.is_file():
            raise UserError(f"eSpeak NG library not found at {self.library_path}")
        self.variants = set(list_variants(self.data_path))
        self.languages = language_files(self.data_path)
        if not self.languages:
            raise UserError(f"eSpeak NG data at {self.data_path} has no voices (lang/ missing or empty)")
        self._chunks: list[np.ndarray] = []
        # Kept on self: ctypes frees the C trampoline when the Python object is collected.
        self._callback = SYNTH_CALLBACK(self._collect)
        with self._lock, _fresh_library(self.library_path) as lib:
            self.sample_rate = self._initialise(lib)

    def _collect(self, wav, num_samples, events):
        if num_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
        return 0

    def _initialise(self, lib) -> int:
        path = str(self.data_path).encode()
        rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, path, ESPEAK_INITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise UserError(f"cannot initialise eSpeak NG with data {self.data_path} (error {rate})")
        lib.espeak_SetSynthCallback(self._callback)
        return int(rate)

    def check_voice(self, voice: str) -> None:
        """Raise UserError unless `voice` ("en-us" or "en-us+m3") names installed files.

        eSpeak silently ignores an unknown +variant, so it is checked here.
        """
        language, _, variant = voice.partition("+")
        if language.lower() not in self.languages:
            raise UserError(f"eSpeak NG voice {voice!r}: no language {language!r} in {self.data_path / 'lang'}")
        if variant and variant not in self.variants:
            raise UserError(f"eSpeak NG voice {voice!r}: no variant {variant!r} in {self.data_path / 'voices' / '!v'}")

    def _espeak_voice_name(self, voice: str) -> bytes:
        language, plus, variant = voice.partition("+")
        relative = self.languages[language.lower()]
        # A lower-case file path is opened directly; otherwise eSpeak searches by name.
        name = relative if relative == relative.lower() else language
        return f"{name}{plus}{variant}".encode()

    def synthesise(self, text: str, voice: str, rate_wpm: int, pitch: int, seed: int = 0):
        """Speak `text`; returns ((samples,) float32 in [-1, 1), sample_rate).

        `seed` seeds the random generators eSpeak draws breath and Klatt noise from, so the
        samples depend only on the arguments.
        """
        self.check_voice(voice)
        data = text.encode("utf-8") + b"\0"
        with self._lock, _fresh_library(self.library_path) as lib:
            self._initialise(lib)
            status = lib.espeak_SetVoiceByName(self._espeak_voice_name(voice))
            if status != EE_OK:
                raise UserError(f"eSpeak NG voice {voice!r} cannot be loaded (error {status})")
            lib.espeak_SetParameter(ESPEAK_RATE, int(rate_wpm), 0)
            lib.espeak_SetParameter(ESPEAK_PITCH, int(pitch), 0)
            lib.espeak_ng_SetRandSeed(int(seed))
            # Some eSpeak noise sources call libc rand(), whose state is per process.
            _LIBC.srand(ctypes.c_uint(int(seed) & 0xFFFFFFFF))
            self._chunks = []
            status = lib.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0, ESPEAK_CHARS_UTF8, None, None)
            if status == EE_OK:
                status = lib.espeak_Synchronize()
            chunks, self._chunks = self._chunks, []
        if status != EE_OK:
            raise UserError(f"eSpeak NG failed to speak {text!r} with voice {voice!r} (error {status})")
        samples = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
        return samples.astype(np.float32) / 32768.0, self.sample_rate


    def ipa(self, words: list[str], voice: str = "en-us") -> list[str]:
        """Each word's pronunciation as eSpeak NG reads it, in IPA with stress marks: 'hello' -> 'həlˈoʊ'."""
        self.check_voice(voice)
        result = []
        with self._lock, _fresh_library(self.library_path) as lib:
            self._initialise(lib)
            status = lib.espeak_SetVoiceByName(self._espeak_voice_name(voice))
            if status != EE_OK:
                raise UserError(f"eSpeak NG voice {voice!r} cannot be loaded (error {status})")
            for word in words:
                text = ctypes.c_char_p(word.encode("utf-8") + b"\0")
                clauses = []
                while text.value:  # eSpeak returns one clause per call and moves `text` past it (NULL at the end)
                    clauses.append(lib.espeak_TextToPhonemes(ctypes.byref(text), ESPEAK_CHARS_UTF8, PHONEMES_IPA))
                result.append(" ".join(c.decode("utf-8") for c in clauses if c))
        return result

@contextmanager
def _fresh_library(path: Path):
    """dlopen libespeak-ng with pristine globals; terminate and dlclose it afterwards."""
    if _is_loaded(path):
        raise UserError(
            f"{path} is already loaded by something else in this process; eSpeak NG output "
            "would then depend on earlier calls (not reproducible)"
        )
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as exc:
        raise UserError(f"cannot load eSpeak NG library {path}: {exc}") from None
    _declare_signatures(lib)
    try:
        yield lib
    finally:
        lib.espeak_Terminate()
        _ctypes.dlclose(lib._handle)


def _is_loaded(path: Path) -> bool:
    """True if the library is mapped in this process (dlopen with RTLD_NOLOAD only looks)."""
    try:
        handle = _ctypes.dlopen(str(path), os.RTLD_NOLOAD | os.RTLD_LAZY)
    except OSError:
        return False
    _ctypes.dlclose(handle)  # undo the reference RTLD_NOLOAD added
    return True


def _declare_signatures(lib) -> None:
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
    lib.espeak_Terminate.argtypes = []
    lib.espeak_Terminate.restype = ctypes.c_int
    lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
    lib.espeak_ng_SetRandSeed.restype = None
    lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
    lib.espeak_TextToPhonemes.restype = ctypes.c_char_p


class EspeakEngine:
    """eSpeak NG as a corpus engine: accent x variant voices; each utterance draws a rate and a pitch."""

    name = "espeak"

    def __init__(self, rate_wpm=(140, 210), pitch=(25, 75)):
        self.rate_wpm, self.pitch = _int_range("espeak.rate_wpm", rate_wpm), _int_range("espeak.pitch", pitch)
        if self.rate_wpm[0] < 80 or not 0 <= self.pitch[0] <= self.pitch[1] <= 100:
            raise UserError(f"data.espeak: rate_wpm must be >= 80 and pitch within [0, 100], "
                            f"got {list(self.rate_wpm)} / {list(self.pitch)}")
        self._stack = ExitStack()
        self.synth = EspeakSynth(self._stack.enter_context(case_folded_data(espeak_paths()[1])))

    def voices(self) -> list[str]:
        """Every accent x variant voice name, checked against the installed eSpeak NG data."""
        voices = [f"{accent}+{variant}" for accent in ACCENTS for variant in VARIANTS]
        for voice in voices:
            self.synth.check_voice(voice)  # UserError naming the missing file
        return voices

    def speak(self, text: str, voice: str, rng: np.random.Generator):
        """((samples,) float32, rate, what was drawn) for `text`; all draws come from `rng`."""
        rate_wpm = int(rng.integers(self.rate_wpm[0], self.rate_wpm[1] + 1))
        pitch = int(rng.integers(self.pitch[0], self.pitch[1] + 1))
        seed = int(rng.integers(2**31))
        audio, rate = self.synth.synthesise(text, voice, rate_wpm, pitch, seed=seed)
        return audio, rate, f"rate {rate_wpm} pitch {pitch}"

    def close(self) -> None:
        self._stack.close()


def _int_range(key: str, value) -> tuple[int, int]:
    low, high = (int(v) for v in value)
    if low > high:
        raise UserError(f"data.{key} must be [min, max] with min <= max, got {[low, high]}")
    return low, high
