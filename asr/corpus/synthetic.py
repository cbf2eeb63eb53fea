"""The default corpus: English sentences spoken by several synthesis engines, written offline.

Splits are sentence-disjoint (no dev or test sentence occurs in train) and, where an engine has
enough voices (eSpeak), voice-disjoint: dev and test voices never speak in train. The engine named
in `heldout_engine` speaks only in test, so test CER on it measures a synthesiser never heard.
Every utterance's draws come from a generator seeded by (seed, utterance index), so the corpus is
byte-identical for the same settings whatever `workers` is.
"""

import multiprocessing
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
from tqdm import tqdm

from asr.audio.augment import AugmentSettings, augment
from asr.audio.io import check_audio, resample, write_wav
from asr.corpus.common import SPLITS, Rejection
from asr.corpus.engines import ENGINES, open_engine
from asr.corpus.engines.reserved import is_reserved
from asr.corpus.sentences import frequent_words, make_sentences
from asr.errors import AudioError, UserError
from asr.text.normalise import normalise_text
from asr.workers import worker_pool

# Independent random streams, all derived from settings.seed: (seed, stream, index).
SENTENCE_STREAM, VOICE_STREAM, UTTERANCE_STREAM = 0, 1, 2
TRIM_MARGIN = 0.1  # seconds of context kept (or zero-padded) around the speech
TRIM_THRESHOLD_DB = -50.0  # below this (relative to the peak) a sample counts as silence
MAX_PEAK = 0.99  # utterances louder than this are scaled down, never clipped
SENTENCE_SOURCES = ("wordnet", "words")


@dataclass(frozen=True)
class SyntheticSettings:
    """The keys of conf/data/synthetic.yaml (except `corpus`)."""

    sample_rate: int
    seed: int
    num_utterances: int
    # Where this corpus starts in the seeded sentence order: a corpus with the same seed and sentence
    # settings that starts at or after another one's end (its sentence_offset + num_utterances)
    # shares no sentence with it (the base preset starts after the default's 1600).
    sentence_offset: int
    sentences: str  # "wordnet" (real sentences) or "words" (random phrases of frequent words)
    sentence_words: tuple[int, int]  # inclusive [min, max] words of a wordnet sentence
    max_word_rank: int | None  # wordnet sentences whose every word is among this many most frequent (None: any)
    words_per_utterance: tuple[int, int]  # inclusive [min, max], for sentences: words
    word_list_size: int
    engines: tuple[str, ...]
    engine_weights: dict  # engine -> relative share of the utterances of a split it speaks in (default 1)
    heldout_engine: str | None
    dev_voices: int
    test_voices: int
    dev_fraction: float
    test_fraction: float
    max_seconds: float
    augment_splits: tuple[str, ...]
    augment: AugmentSettings
    engine_options: dict  # engine -> its data.<engine> options
    workers: int

    @classmethod
    def from_config(cls, data) -> "SyntheticSettings":
        """From the `data` config group (a mapping; `corpus` is ignored)."""
        plain = {k: (dict(v) if hasattr(v, "keys") else v) for k, v in dict(data).items()}
        plain.pop("corpus", None)
        options = {name: dict(plain.pop(name) or {}) for name in ENGINES if name in plain}
        names = {f.name for f in fields(cls)} - {"engine_options"}
        if unknown := sorted(set(plain) - names):
            raise UserError(f"unknown data keys for the synthetic corpus: {', '.join(unknown)}")
        if missing := sorted(names - set(plain)):
            raise UserError(f"missing data keys for the synthetic corpus: {', '.join(missing)}")
        try:
            augment_settings = AugmentSettings(**plain.pop("augment"))
        except TypeError as exc:
            raise UserError(f"data.augment: {exc}") from None
        return cls(**plain, augment=augment_settings, engine_options=options)

    def __post_init__(self):
        for name in ("sentence_words", "words_per_utterance"):
            value = tuple(int(v) for v in getattr(self, name))
            if len(value) != 2 or not 1 <= value[0] <= value[1]:
                raise UserError(f"data.{name} must be [min, max] with 1 <= min <= max, got {list(value)}")
            object.__setattr__(self, name, value)
        object.__setattr__(self, "engines", tuple(self.engines))
        object.__setattr__(self, "augment_splits", tuple(self.augment_splits))
        _require(self.sentences in SENTENCE_SOURCES, f"sentences must be one of {SENTENCE_SOURCES}", self.sentences)
        _require(self.sample_rate > 0, "sample_rate must be > 0", self.sample_rate)
        _require(self.num_utterances > 0, "num_utterances must be > 0", self.num_utterances)
        _require(self.sentence_offset >= 0, "sentence_offset must be >= 0", self.sentence_offset)
        _require(self.max_word_rank is None or self.max_word_rank >= 1, "max_word_rank must be null or >= 1",
                 self.max_word_rank)
        _require(len(self.engines) > 0 and len(set(self.engines)) == len(self.engines),
                 "engines must be a non-empty list without repeats", list(self.engines))
        for engine in self.engines:
            _require(engine in ENGINES, f"engines: unknown engine (known: {', '.join(ENGINES)})", engine)
        object.__setattr__(self, "engine_weights", {k: float(v) for k, v in dict(self.engine_weights or {}).items()})
        for engine, weight in self.engine_weights.items():
            _require(engine in self.engines, "engine_weights: not one of data.engines", engine)
            _require(weight > 0, f"engine_weights.{engine} must be > 0", weight)
        _require(self.heldout_engine is None or self.heldout_engine in self.engines,
                 "heldout_engine must be null or one of data.engines", self.heldout_engine)
        _require(self.heldout_engine is None or len(self.engines) > 1,
                 "heldout_engine needs another engine to train on", list(self.engines))
        _require(self.dev_voices >= 1, "dev_voices must be >= 1", self.dev_voices)
        _require(self.test_voices >= 1, "test_voices must be >= 1", self.test_voices)
        for name in ("dev_fraction", "test_fraction"):
            _require(0 <= getattr(self, name) <= 1, f"{name} must be in [0, 1]", getattr(self, name))
        _require(self.dev_fraction + self.test_fraction < 1, "dev_fraction + test_fraction must be < 1",
                 self.dev_fraction + self.test_fraction)  # fmt: skip
        _require(self.max_seconds > 0, "max_seconds must be > 0", self.max_seconds)
        _require(set(self.augment_splits) <= set(SPLITS), f"augment_splits must be within {SPLITS}",
                 list(self.augment_splits))
        _require(self.workers >= 1, "workers must be >= 1", self.workers)


@dataclass(frozen=True)
class UtteranceJob:
    """One utterance to synthesise: its sentence and the (engine, voice) pairs of its split."""

    index: int
    id: str
    split: str
    text: str
    voices: tuple[tuple[str, str], ...]


def assign_voices(engine_voices: dict[str, list[str]], settings: SyntheticSettings) -> dict[str, tuple]:
    """Split -> (engine, voice) pairs. The held-out engine speaks only in test; an engine with more
    voices than dev + test hold out has disjoint voices per split (chosen by the seed); an engine
    with fewer speaks in every split (its sentences still differ)."""
    splits = {split: [] for split in SPLITS}
    held_out = settings.dev_voices + settings.test_voices
    for engine, voices in engine_voices.items():
        if reserved := [v for v in voices if is_reserved(v)]:
            raise UserError(f"engine {engine}: voices {reserved} are reserved for outside evaluation")
        pairs = [(engine, v) for v in sorted(voices)]
        if engine == settings.heldout_engine:
            splits["test"] += pairs
        elif len(pairs) > held_out:
            order = np.random.default_rng((settings.seed, VOICE_STREAM, 0)).permutation(len(pairs))
            shuffled = [pairs[i] for i in order]
            splits["test"] += shuffled[: settings.test_voices]
            splits["dev"] += shuffled[settings.test_voices : held_out]
            splits["train"] += shuffled[held_out:]
        else:
            for split in SPLITS:
                splits[split] += pairs
    return {split: tuple(sorted(pairs)) for split, pairs in splits.items()}


def split_sizes(settings: SyntheticSettings) -> dict[str, int]:
    """Utterances per split; a split with a nonzero fraction gets at least one."""
    total = settings.num_utterances

    def held_out(fraction):
        return max(1, round(fraction * total)) if fraction > 0 else 0

    dev, test = held_out(settings.dev_fraction), held_out(settings.test_fraction)
    if total - dev - test < 1:
        raise UserError(f"data.num_utterances ({total}) too small for a train split after {dev} dev and {test} test")
    return {"train": total - dev - test, "dev": dev, "test": test}


def sentence_pool(settings: SyntheticSettings) -> list[str]:
    """`num_utterances` distinct sentences in a seeded order (each used once, so splits share none).

    They are positions [sentence_offset, sentence_offset + num_utterances) of one seeded order of all
    the candidate sentences, so corpora at different offsets of the same order never share a sentence.
    """
    rng_seed = (settings.seed, SENTENCE_STREAM, 0)
    wanted = settings.sentence_offset + settings.num_utterances
    if settings.sentences == "words":
        words = frequent_words(settings.word_list_size)
        return make_sentences(words, wanted, settings.words_per_utterance, seed=rng_seed)[settings.sentence_offset:]
    from asr.corpus.text_source import wordnet_sentences

    pool = wordnet_sentences(*settings.sentence_words)
    if settings.max_word_rank is not None:
        # Everyday words: a recogniser meets "table" far more often than "scrofulous"
        known = set(frequent_words(settings.max_word_rank))
        pool = [sentence for sentence in pool if set(normalise_text(sentence).split()) <= known]
    if len(pool) < wanted:
        within = "" if settings.max_word_rank is None else f" within the {settings.max_word_rank} most frequent words"
        offset = f" after data.sentence_offset {settings.sentence_offset}" if settings.sentence_offset else ""
        raise UserError(f"only {len(pool)} WordNet sentences of {list(settings.sentence_words)} words{within}; "
                        f"data.num_utterances is {settings.num_utterances}{offset}")
    order = np.random.default_rng(rng_seed).permutation(len(pool))[settings.sentence_offset : wanted]
    return [pool[i] for i in order]


def plan_utterances(settings: SyntheticSettings, split_voices: dict[str, tuple]) -> list[UtteranceJob]:
    """One job per utterance, in split order (train, dev, test)."""
    sizes, pool = split_sizes(settings), sentence_pool(settings)
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


def pick_voice(pairs: tuple, engine_weights: dict, rng: np.random.Generator) -> tuple[str, str]:
    """(engine, voice) for one utterance from a split's (engine, voice) pairs.

    The engine is drawn first (by its weight, default 1), then the voice within it, so a one-voice
    engine is not drowned out by eSpeak's 136; every draw is made whatever its outcome.
    """
    split_engines = sorted({engine for engine, _ in pairs})
    weights = np.array([engine_weights.get(engine, 1.0) for engine in split_engines])
    if np.all(weights == weights[0]):
        engine = split_engines[int(rng.integers(len(split_engines)))]  # the same draw as corpora made before weights
    else:
        engine = split_engines[int(rng.choice(len(split_engines), p=weights / weights.sum()))]
    voices = [voice for e, voice in pairs if e == engine]
    return engine, voices[int(rng.integers(len(voices)))]


def render_utterance(job: UtteranceJob, settings: SyntheticSettings, engines: dict, out_dir: Path):
    """Synthesise, trim, resample, augment (train), write one WAV; a manifest row or a Rejection."""
    rng = np.random.default_rng((settings.seed, UTTERANCE_STREAM, job.index))
    engine, voice = pick_voice(job.voices, settings.engine_weights, rng)
    source = f"{engine} {voice}: {job.text!r}"
    try:
        audio, native_rate, _drawn = engines[engine].speak(job.text, voice, rng)
        check_audio(audio)
    except (AudioError, UserError) as exc:
        return Rejection(job.id, source, str(exc))
    audio = resample(trim_silence(audio, native_rate), native_rate, settings.sample_rate)  # (samples,)
    if job.split in settings.augment_splits:
        audio, _applied = augment(audio, settings.sample_rate, settings.augment, rng)
    seconds = len(audio) / settings.sample_rate
    if seconds > settings.max_seconds:
        return Rejection(job.id, source, f"{seconds:.1f} s is longer than data.max_seconds ({settings.max_seconds})")
    peak = float(np.max(np.abs(audio)))
    if peak > MAX_PEAK:
        audio = audio * np.float32(MAX_PEAK / peak)  # a gain keeps the SNR; clipping would not
    relative = Path("audio") / job.split / f"{job.id}.wav"
    write_wav(out_dir / relative, audio, settings.sample_rate)
    return dict(id=job.id, path=relative.as_posix(), text=job.text, duration=round(seconds, 4),
                speaker=f"{engine}:{voice}", engine=engine, split=job.split)


def open_engines(settings: SyntheticSettings) -> dict:
    return {name: open_engine(name, settings.engine_options.get(name, {})) for name in settings.engines}


def synthesise_corpus(out_dir: Path, settings: SyntheticSettings):
    """Write the corpus under out_dir/audio/<split>/; returns (manifest rows, rejections).

    Rows are sorted by split (train, dev, test) then id; paths are relative to out_dir.
    """
    out_dir = Path(out_dir)
    engines = open_engines(settings)  # fails early, naming a missing engine's package
    try:
        engine_voices = {name: engine.voices() for name, engine in engines.items()}
        jobs = plan_utterances(settings, assign_voices(engine_voices, settings))
        progress = dict(total=len(jobs), desc="synthesise", unit="utt", mininterval=1.0)
        if settings.workers == 1:
            results = [render_utterance(job, settings, engines, out_dir) for job in tqdm(jobs, **progress)]
        else:
            # spawn: workers start clean, safe even if TensorFlow threads run in this interpreter.
            context = multiprocessing.get_context("spawn")
            with worker_pool(settings.workers, context, _start_worker, (settings, out_dir), what="synthesis worker",
                             setting="data.workers") as pool:
                chunksize = max(1, min(16, len(jobs) // (8 * settings.workers)))
                # in job order (rows are sorted below anyway); a dead worker is a UserError, not a hang
                results = list(tqdm(pool.map(_render_in_worker, jobs, chunksize=chunksize), **progress))
    finally:
        for engine in engines.values():
            engine.close()
    rows = sorted((r for r in results if isinstance(r, dict)), key=lambda r: (SPLITS.index(r["split"]), r["id"]))
    rejected = sorted((r for r in results if isinstance(r, Rejection)), key=lambda r: r.id)
    return rows, rejected


_worker = {}  # per worker process: its engines, settings and output directory


def _start_worker(settings: SyntheticSettings, out_dir: Path) -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # the workers share the cores; one BLAS thread each
    _worker.update(engines=open_engines(settings), settings=settings, out_dir=out_dir)


def _render_in_worker(job: UtteranceJob):
    return render_utterance(job, _worker["settings"], _worker["engines"], _worker["out_dir"])


def _require(condition: bool, message: str, got) -> None:
    if not condition:
        raise UserError(f"data.{message}, got {got}")
