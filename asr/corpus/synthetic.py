"""The default corpus: random English sentences spoken by eSpeak NG voices, written offline.

Speaker-disjoint and sentence-disjoint splits: dev and test voices never speak in train,
test voices never in dev, and no dev or test sentence occurs in train. Every utterance's
random draws come from a generator seeded by (seed, utterance index), and eSpeak is reset
per utterance, so the output is byte-identical for the same settings whatever `workers` is.
"""

import multiprocessing
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
from tqdm import tqdm

from asr.audio.io import check_audio, resample, write_wav
from asr.corpus.common import SPLITS, Rejection
from asr.corpus.engines.espeak import EspeakSynth, case_folded_data, espeak_paths
from asr.corpus.sentences import frequent_words, make_sentences
from asr.errors import AudioError, UserError

# Accents are eSpeak language files (lang/gmw/); "en" is British English.
ACCENTS = ("en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
# Variants are files in voices/!v: seven male, seven female, three Klatt-synthesiser voices.
VARIANTS = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7",
    "f1", "f2", "f3", "f4", "f5", "linda", "steph",
    "klatt", "klatt2", "klatt3",
)  # fmt: skip

# Independent random streams, all derived from settings.seed: (seed, stream, index).
SENTENCE_STREAM, VOICE_STREAM, UTTERANCE_STREAM = 0, 1, 2
TRIM_MARGIN = 0.1  # seconds of context kept (or zero-padded) around the speech
TRIM_THRESHOLD_DB = -50.0  # below this (relative to the peak) a sample counts as silence
MAX_PEAK = 0.99  # utterances louder than this after noise are scaled down, never clipped


@dataclass(frozen=True)
class SyntheticSettings:
    """The keys of conf/data/synthetic.yaml (except `corpus`)."""

    sample_rate: int
    seed: int
    num_utterances: int
    words_per_utterance: tuple[int, int]  # inclusive [min, max]
    word_list_size: int
    dev_voices: int
    test_voices: int
    dev_fraction: float
    test_fraction: float
    rate_wpm: tuple[int, int]  # inclusive [min, max]
    pitch: tuple[int, int]  # inclusive [min, max], eSpeak's 0-100 scale
    noise_fraction: float
    noise_snr_db: float
    workers: int

    @classmethod
    def from_config(cls, data) -> "SyntheticSettings":
        """From the `data` config group (a mapping; `corpus` is ignored)."""
        names = {f.name for f in fields(cls)}
        given = set(data.keys()) - {"corpus"}
        if unknown := sorted(given - names):
            raise UserError(f"unknown data keys for the synthetic corpus: {', '.join(unknown)}")
        if missing := sorted(names - given):
            raise UserError(f"missing data keys for the synthetic corpus: {', '.join(missing)}")
        return cls(**{name: data[name] for name in names})

    def __post_init__(self):
        for name in ("words_per_utterance", "rate_wpm", "pitch"):
            value = tuple(int(v) for v in getattr(self, name))
            if len(value) != 2 or value[0] > value[1]:
                raise UserError(f"data.{name} must be [min, max] with min <= max, got {list(value)}")
            object.__setattr__(self, name, value)
        _require(self.sample_rate > 0, "sample_rate must be > 0", self.sample_rate)
        _require(self.num_utterances > 0, "num_utterances must be > 0", self.num_utterances)
        _require(self.words_per_utterance[0] >= 1, "words_per_utterance min must be >= 1", self.words_per_utterance[0])
        _require(self.dev_voices >= 1, "dev_voices must be >= 1", self.dev_voices)
        _require(self.test_voices >= 1, "test_voices must be >= 1", self.test_voices)
        for name in ("dev_fraction", "test_fraction", "noise_fraction"):
            _require(0 <= getattr(self, name) <= 1, f"{name} must be in [0, 1]", getattr(self, name))
        _require(self.dev_fraction + self.test_fraction < 1, "dev_fraction + test_fraction must be < 1",
                 self.dev_fraction + self.test_fraction)  # fmt: skip
        _require(self.rate_wpm[0] >= 80, "rate_wpm min must be >= 80 (eSpeak's slowest)", self.rate_wpm[0])
        _require(0 <= self.pitch[0] and self.pitch[1] <= 100, "pitch must lie within [0, 100]", list(self.pitch))
        _require(self.workers >= 1, "workers must be >= 1", self.workers)


@dataclass(frozen=True)
class UtteranceJob:
    """One utterance to synthesise: its sentence and the voices of its split."""

    index: int
    id: str
    split: str
    text: str
    voices: tuple[str, ...]


def available_voices(synth: EspeakSynth) -> list[str]:
    """Every accent x variant voice name, checked against the installed eSpeak NG data."""
    voices = [f"{accent}+{variant}" for accent in ACCENTS for variant in VARIANTS]
    for voice in voices:
        synth.check_voice(voice)  # UserError naming the missing file
    return voices


def assign_voices(voices: list[str], settings: SyntheticSettings) -> dict[str, tuple[str, ...]]:
    """Split -> voices: disjoint sets, the held-out ones chosen by the seed."""
    held_out = settings.dev_voices + settings.test_voices
    if held_out >= len(voices):
        raise UserError(f"data.dev_voices + data.test_voices must be < {len(voices)} (voices available), got {held_out}")
    order = np.random.default_rng((settings.seed, VOICE_STREAM, 0)).permutation(len(voices))
    shuffled = [voices[i] for i in order]
    test = shuffled[: settings.test_voices]
    dev = shuffled[settings.test_voices : held_out]
    train = shuffled[held_out:]
    return {"train": tuple(sorted(train)), "dev": tuple(sorted(dev)), "test": tuple(sorted(test))}


def split_sizes(settings: SyntheticSettings) -> dict[str, int]:
    """Utterances per split; a split with a nonzero fraction gets at least one."""
    total = settings.num_utterances

    def held_out(fraction):
        return max(1, round(fraction * total)) if fraction > 0 else 0

    dev, test = held_out(settings.dev_fraction), held_out(settings.test_fraction)
    if total - dev - test < 1:
        raise UserError(f"data.num_utterances ({total}) too small for a train split after {dev} dev and {test} test")
    return {"train": total - dev - test, "dev": dev, "test": test}


def plan_utterances(settings: SyntheticSettings, split_voices: dict[str, tuple[str, ...]]) -> list[UtteranceJob]:
    """One job per utterance; each sentence is used once, so splits share no sentence."""
    sizes = split_sizes(settings)
    words = frequent_words(settings.word_list_size)
    pool = make_sentences(words, settings.num_utterances, settings.words_per_utterance,
                          seed=(settings.seed, SENTENCE_STREAM, 0))  # fmt: skip
    jobs, index = [], 0
    for split in SPLITS:
        for _ in range(sizes[split]):
            jobs.append(UtteranceJob(index, f"syn-{index:06d}", split, pool[index], split_voices[split]))
            index += 1
    return jobs


def trim_silence(audio: np.ndarray, rate: int, margin: float = TRIM_MARGIN) -> np.ndarray:
    """Cut leading/trailing silence, keeping `margin` seconds (zero-padded if not there)."""
    keep = int(round(margin * rate))
    threshold = float(np.max(np.abs(audio))) * 10 ** (TRIM_THRESHOLD_DB / 20)
    loud = np.flatnonzero(np.abs(audio) > threshold)
    first, last = int(loud[0]), int(loud[-1])
    start, end = max(0, first - keep), min(len(audio), last + 1 + keep)
    return np.pad(audio[start:end], (keep - (first - start), keep - (end - 1 - last)))


def add_white_noise(audio: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Add white Gaussian noise at `snr_db` below the utterance's mean signal power."""
    signal_power = float(np.mean(np.square(audio, dtype=np.float64)))
    noise = rng.standard_normal(len(audio)) * np.sqrt(signal_power / 10 ** (snr_db / 10))
    return (audio + noise).astype(np.float32)


def render_utterance(job: UtteranceJob, settings: SyntheticSettings, synth: EspeakSynth, out_dir: Path):
    """Synthesise, trim, resample, maybe add noise, write one WAV; a manifest row or a Rejection."""
    rng = np.random.default_rng((settings.seed, UTTERANCE_STREAM, job.index))
    # Every draw is made whatever its outcome, so changing e.g. noise_fraction changes
    # only the noise, never the voice, rate or pitch of an utterance.
    voice = job.voices[int(rng.integers(len(job.voices)))]
    rate_wpm = int(rng.integers(settings.rate_wpm[0], settings.rate_wpm[1] + 1))
    pitch = int(rng.integers(settings.pitch[0], settings.pitch[1] + 1))
    espeak_seed = int(rng.integers(2**31))
    noisy = bool(rng.random() < settings.noise_fraction)

    audio, native_rate = synth.synthesise(job.text, voice, rate_wpm, pitch, seed=espeak_seed)
    try:
        check_audio(audio)
    except AudioError as exc:
        return Rejection(job.id, f"espeak {voice}: {job.text!r}", str(exc))
    audio = resample(trim_silence(audio, native_rate), native_rate, settings.sample_rate)  # (samples,)
    if noisy:
        audio = add_white_noise(audio, settings.noise_snr_db, rng)
    peak = float(np.max(np.abs(audio)))
    if peak > MAX_PEAK:
        audio = audio * np.float32(MAX_PEAK / peak)  # a gain keeps the SNR; clipping would not
    relative = Path("audio") / job.split / f"{job.id}.wav"
    write_wav(out_dir / relative, audio, settings.sample_rate)
    return dict(
        id=job.id,
        path=relative.as_posix(),
        text=job.text,
        duration=round(len(audio) / settings.sample_rate, 4),
        speaker=voice,
        split=job.split,
    )


def synthesise_corpus(out_dir: Path, settings: SyntheticSettings):
    """Write the corpus under out_dir/audio/<split>/; returns (manifest rows, rejections).

    Rows are sorted by split (train, dev, test) then id; paths are relative to out_dir.
    """
    out_dir = Path(out_dir)
    with case_folded_data(espeak_paths()[1]) as data_path:
        synth = EspeakSynth(data_path)
        jobs = plan_utterances(settings, assign_voices(available_voices(synth), settings))
        progress = dict(total=len(jobs), desc="synthesise", unit="utt", mininterval=1.0)
        if settings.workers == 1:
            results = [render_utterance(job, settings, synth, out_dir) for job in tqdm(jobs, **progress)]
        else:
            # spawn: workers start clean, safe even if TensorFlow threads run in this interpreter.
            context = multiprocessing.get_context("spawn")
            initargs = (settings, out_dir, data_path)
            with context.Pool(settings.workers, initializer=_start_worker, initargs=initargs) as pool:
                chunksize = max(1, min(16, len(jobs) // (8 * settings.workers)))
                results = list(tqdm(pool.imap_unordered(_render_in_worker, jobs, chunksize=chunksize), **progress))
    rows = sorted((r for r in results if isinstance(r, dict)), key=lambda r: (SPLITS.index(r["split"]), r["id"]))
    rejected = sorted((r for r in results if isinstance(r, Rejection)), key=lambda r: r.id)
    return rows, rejected


_worker = {}  # per worker process: its EspeakSynth, settings and output directory


def _start_worker(settings: SyntheticSettings, out_dir: Path, data_path: Path) -> None:
    _worker.update(synth=EspeakSynth(data_path), settings=settings, out_dir=out_dir)


def _render_in_worker(job: UtteranceJob):
    return render_utterance(job, _worker["settings"], _worker["synth"], _worker["out_dir"])


def _require(condition: bool, message: str, got) -> None:
    if not condition:
        raise UserError(f"data.{message}, got {got}")
