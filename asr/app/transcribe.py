"""Transcribe audio files with a model bundle: same conversion, features and statistics as training."""

import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from asr.decoding.alignment import ctc_align, word_timings
from asr.audio.io import SILENCE_PEAK, AudioTooLong, load_audio
from asr.audio.chunking import split_at_pauses, stream_chunks
from asr.decoding.ctc_numpy import decode_numpy
from asr.errors import AudioError, UserError
from asr.export.onnx_runtime import ExportedModel
from asr.features.mfcc import compute_features
from asr.model.frames import stacked_steps

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif", ".au", ".raw", ".pcm"}


@dataclass
class Transcript:
    path: str
    text: str
    duration: float  # seconds of audio
    seconds: float  # wall-clock seconds taken
    chars: list = field(default_factory=list)  # [{"char", "start"}]
    words: list = field(default_factory=list)  # [{"word", "start", "end"}]
    model: str = ""  # the model directory or file that transcribed it


@dataclass
class _FileState:
    """One file on its way through the batches: pieces still out, and what came back so far."""

    path: Path
    duration: float  # seconds, from the header (or the size of raw PCM); 0.0 when unreadable
    seconds: float = 0.0  # wall-clock time spent on it: reading, features, its share of each batch
    read_all: bool = False
    pending: int = 0  # pieces sent to a batch whose results are not back yet
    error: AudioError | None = None
    parts: list = field(default_factory=list)  # (text, chars, words) per piece with sound, in order


@dataclass
class _Piece:
    file: _FileState
    offset: float  # seconds into the file
    features: np.ndarray  # (frames, dim), normalised


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
    """Holds a loaded model and its forward pass; pieces of many files share each forward call.

    `bundle` is an asr.bundle.Bundle (Keras, a compiled tf.function) or an ExportedModel (onnxruntime and
    NumPy decoding, TensorFlow never imported); both decode to the same text.
    """

    def __init__(self, bundle, strategy: str = "greedy", beam_width: int = 1, chunk_seconds: float = 30.0,
                 raw_rate: int | None = None, batch_size: int = 16, timings: bool = True, lm_decoder=None):
        if strategy == "lm" and lm_decoder is None:
            raise UserError("--decode lm needs a language model")
        if bundle.vocab.unit == "phone" and strategy != "lm":
            raise UserError("this model predicts phones (labels.unit=phone): transcribe with --decode lm, "
                            "whose lexicon turns its phones into words")
        self.bundle, self.strategy, self.beam_width, self.lm_decoder = bundle, strategy, beam_width, lm_decoder
        self.chunk_seconds, self.raw_rate = chunk_seconds, raw_rate
        self.batch_size, self.timings = max(1, batch_size), timings
        self.rate = bundle.features.sample_rate
        if isinstance(bundle, ExportedModel):
            self.subsample, self._forward, self._decode = bundle.subsample, bundle.forward, decode_numpy
        else:
            from asr.decoding.ctc import decode  # keras: TensorFlow's CTC kernels
            from asr.model.inference import make_forward

            self.subsample, self._forward, self._decode = bundle.model_settings.subsample, make_forward(bundle.model), decode
        self.step_seconds = bundle.features.win_step * self.subsample

    def is_raw(self, path: Path) -> bool:
        return self.raw_rate is not None or path.suffix.lower() in (".raw", ".pcm")

    def duration(self, path: Path) -> float:
        """Seconds of audio in the file, without reading the samples; 0.0 if unknown (reading then says why)."""
        if not path.is_file():
            return 0.0
        if self.is_raw(path):
            return path.stat().st_size / 2 / self.raw_rate if self.raw_rate else 0.0
        try:
            return sf.info(str(path)).duration
        except Exception:  # soundfile raises LibsndfileError, RuntimeError, TypeError...
            return 0.0

    def pieces(self, path: Path, duration: float):
        """(offset, audio) pieces of at most chunk_seconds, converted exactly as in `prepare`.

        A file is read whole only up to chunk_seconds (whatever its header says); a longer one is then
        read again block by block. `duration` is the header's, for the results only.
        """
        raw_rate = None
        if self.is_raw(path):
            if self.raw_rate is None:
                raise AudioError("headerless PCM needs --raw-rate")
            raw_rate = self.raw_rate
        try:
            audio = load_audio(path, self.rate, self.chunk_seconds, raw_rate)  # exactly as `prepare` converts
        except AudioTooLong:
            audio = None
        if audio is not None:
            yield 0.0, audio
            return
        # Long recording: bounded pieces read block by block, each cut again at its pauses.
        for offset, piece in stream_chunks(path, self.rate, self.chunk_seconds, raw_rate=raw_rate):
            for inner, segment in split_at_pauses(piece, self.rate):
                yield offset + inner, segment

    def transcribe(self, path) -> Transcript:
        """Transcribe one file; raises AudioError (with the reason) for unusable input."""
        [(_, result)] = self.transcribe_many([path])
        if isinstance(result, AudioError):
            raise result
        return result

    def transcribe_many(self, paths):
        """Yield (path, Transcript or AudioError) in input order.

        Pieces of consecutive files fill batches of `batch_size` for one forward call: one utterance at a time
        leaves the network's matrix products too small to use the machine. A file comes out once all its
        pieces are back, so at most one batch of audio is held whatever the number or length of the files.
        """
        files, batch = deque(), []
        for path in map(Path, paths):
            started = time.perf_counter()
            state = _FileState(path, self.duration(path))
            files.append(state)
            try:
                for offset, audio in self.pieces(path, state.duration):
                    if len(audio) == 0 or np.max(np.abs(audio)) < SILENCE_PEAK:
                        continue  # a pause between speech: nothing to say
                    features = self.bundle.normaliser.apply(compute_features(audio, self.bundle.features))
                    batch.append(_Piece(state, offset, features))
                    state.pending += 1
                    if len(batch) == self.batch_size:
                        state.seconds += time.perf_counter() - started
                        self._run_batch(batch)
                        batch, started = [], time.perf_counter()
                        yield from self._finished(files)
            except AudioError as exc:
                state.error = exc
            state.seconds += time.perf_counter() - started
            state.read_all = True
            yield from self._finished(files)
        if batch:
            self._run_batch(batch)
        yield from self._finished(files)

    def _run_batch(self, batch: list[_Piece]) -> None:
        """One padded forward pass and decode for the batch; each piece's result goes to its file."""
        started = time.perf_counter()
        frames = np.array([len(p.features) for p in batch])
        padded = np.zeros((len(batch), frames.max(), self.bundle.features.dim), np.float32)  # (batch, frames, dim)
        for k, piece in enumerate(batch):
            padded[k, : frames[k]] = piece.features  # zero frames are masked in the network
        log_probs = np.asarray(self._forward(padded))  # (batch, steps, classes)
        steps = stacked_steps(frames, self.subsample)
        if self.lm_decoder is not None:  # (steps, classes) per piece through the lexicon beam search
            texts = [self.lm_decoder.decode(log_probs[k, : steps[k]]) for k in range(len(batch))]
            # what the network's symbols say for those words (the text itself, or a phone model's phone spelling),
            # needed only to align them for the timings
            spelled = [self.lm_decoder.spelling(text) for text in texts] if self.timings else texts
            labels = [self.bundle.vocab.encode(symbols) for symbols in spelled] if self.timings else None
        else:
            labels = self._decode(log_probs, steps, self.strategy, self.beam_width)
            texts = spelled = [self.bundle.vocab.decode(label) for label in labels]
        for k, piece in enumerate(batch):
            text = texts[k]
            chars, words = [], []
            if self.timings:
                spans = ctc_align(log_probs[k, : steps[k]], labels[k])
                chars, words = word_timings(spelled[k], spans, self.step_seconds, piece.offset)
                if self.bundle.vocab.unit == "phone":  # each word's times are its phones'; no letter has a time
                    chars, words = [], [dict(w, word=word) for w, word in zip(words, text.split())]
            piece.file.parts.append((text, chars, words))
            piece.file.pending -= 1
        elapsed = time.perf_counter() - started
        for k, piece in enumerate(batch):  # share the batch's time by length: the padded frames cost alike
            piece.file.seconds += elapsed * frames[k] / frames.sum()

    def _finished(self, files: deque):
        """Pop and yield the leading files whose pieces are all back."""
        while files and files[0].read_all and files[0].pending == 0:
            yield self._result(files.popleft())

    def _result(self, state: _FileState):
        if state.error is not None:
            return state.path, state.error
        if not state.parts:  # every piece was silence
            reason = "empty audio (0 samples)" if state.duration == 0 else "silent audio (nothing above -80 dBFS)"
            return state.path, AudioError(reason)
        spoken = [(text.strip(), chars, words) for text, chars, words in state.parts if text.strip()]
        return state.path, Transcript(
            str(state.path), " ".join(text for text, _, _ in spoken), round(state.duration, 3), round(state.seconds, 4),
            [c for _, chars, _ in spoken for c in chars], [w for _, _, words in spoken for w in words])
