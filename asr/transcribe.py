"""Transcribe audio files with a model bundle: same conversion, features and statistics as training."""

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import tensorflow as tf

from asr.alignment import ctc_align, word_timings
from asr.audio import SILENCE_PEAK, load_audio, load_raw_pcm
from asr.bundle import Bundle
from asr.chunking import chunk_array, split_at_pauses, stream_chunks
from asr.ctc import decode
from asr.errors import AudioError
from asr.features import compute_features

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif", ".au", ".raw", ".pcm"}


@dataclass
class Transcript:
    path: str
    text: str
    duration: float  # seconds of audio
    seconds: float  # wall-clock seconds taken
    chars: list = field(default_factory=list)  # [{"char", "start"}]
    words: list = field(default_factory=list)  # [{"word", "start", "end"}]


def collect_audio_files(paths) -> list[Path]:
    """Files as given, and audio files found recursively under directories (sorted)."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
        else:
            found.append(path)
    return found


class Transcriber:
    """Holds a loaded bundle and a compiled forward pass; one call per file."""

    def __init__(self, bundle: Bundle, strategy: str = "greedy", beam_width: int = 1, chunk_seconds: float = 30.0,
                 raw_rate: int | None = None):
        self.bundle, self.strategy, self.beam_width = bundle, strategy, beam_width
        self.chunk_seconds, self.raw_rate = chunk_seconds, raw_rate
        self.rate = bundle.features.sample_rate
        self.step_seconds = bundle.features.win_step * bundle.model_settings.subsample
        signature = [tf.TensorSpec((None, None, bundle.features.dim), tf.float32)]
        self._forward = tf.function(lambda x: bundle.model(x, training=False), input_signature=signature)

    def pieces(self, path: Path):
        """(offset, audio) pieces of at most chunk_seconds, converted exactly as in `prepare`."""
        if self.raw_rate is not None or path.suffix.lower() in (".raw", ".pcm"):
            if self.raw_rate is None:
                raise AudioError("headerless PCM needs --raw-rate")
            audio = load_raw_pcm(path, self.raw_rate, self.rate)
            if len(audio) <= self.chunk_seconds * self.rate:
                yield 0.0, audio
                return
            for offset, piece in chunk_array(audio, self.rate, self.chunk_seconds):
                for inner, segment in split_at_pauses(piece, self.rate):
                    yield offset + inner, segment
            return
        try:
            duration = sf.info(str(path)).duration if path.is_file() else 0.0
        except Exception:  # unreadable: load_audio below gives the reason
            duration = 0.0
        if duration <= self.chunk_seconds:
            yield 0.0, load_audio(path, self.rate)  # exactly as `prepare` converts training audio
            return
        # Long recording: bounded pieces read block by block, each cut again at its pauses.
        for offset, piece in stream_chunks(path, self.rate, self.chunk_seconds):
            for inner, segment in split_at_pauses(piece, self.rate):
                yield offset + inner, segment

    def duration(self, path: Path, heard_until: float) -> float:
        """Seconds of audio in the file (pauses dropped by the chunker included)."""
        if self.raw_rate is not None:
            return path.stat().st_size / 2 / self.raw_rate
        try:
            return sf.info(str(path)).duration
        except Exception:  # read fine through another route: the heard length is the best we know
            return heard_until

    def transcribe_piece(self, audio: np.ndarray, offset: float):
        """(samples,) audio -> (text, chars, words) with times offset into the file."""
        features = self.bundle.normaliser.apply(compute_features(audio, self.bundle.features))
        log_probs = self._forward(features[None]).numpy()[0]  # (steps, classes)
        label = decode(log_probs[None], np.array([len(log_probs)]), self.strategy, self.beam_width)[0]
        text = self.bundle.vocab.decode(label)
        chars, words = word_timings(text, ctc_align(log_probs, label), self.step_seconds, offset)
        return text, chars, words

    def transcribe(self, path) -> Transcript:
        """Transcribe one file; raises AudioError (with the reason) for unusable input."""
        path, start = Path(path), time.perf_counter()
        texts, chars, words, end, heard = [], [], [], 0.0, False
        for offset, audio in self.pieces(path):
            end = max(end, offset + len(audio) / self.rate)
            if len(audio) == 0 or np.max(np.abs(audio)) < SILENCE_PEAK:
                continue  # a pause between speech: nothing to say
            heard = True
            text, piece_chars, piece_words = self.transcribe_piece(audio, offset)
            if text.strip():
                texts.append(text.strip())
                chars += piece_chars
                words += piece_words
        duration = self.duration(path, end)
        if not heard:
            raise AudioError("empty audio (0 samples)" if duration == 0 else "silent audio (nothing above -80 dBFS)")
        return Transcript(str(path), " ".join(texts), round(duration, 3),
                          round(time.perf_counter() - start, 4), chars, words)
