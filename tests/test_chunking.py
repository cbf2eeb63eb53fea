"""Cutting long recordings: at pauses, at the quietest point, block by block with flat memory."""

import itertools
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from asr.audio.chunking import best_cut, chunk_array, next_cut, quietest_cut, split_at_pauses, stream_chunks
from asr.errors import AudioError


def test_split_at_pauses_keeps_short_margins_and_drops_the_rest():
    rate = 1000  # 20 ms frames of 20 samples
    audio = np.concatenate([np.zeros(500), np.ones(300), np.zeros(700), 0.5 * np.ones(200), np.zeros(100)])
    segments = list(split_at_pauses(0.5 * audio.astype(np.float32), rate, min_pause=0.3, keep=0.1))
    # sound 500-800 with 100 samples each side; the 700-sample pause is dropped but for 100 + 100;
    # the trailing 100 zeros are shorter than a pause and stay
    assert [(offset, len(seg)) for offset, seg in segments] == [(0.4, 500), (1.4, 400)]
    assert segments[0][1][100:400].min() == 0.5 and segments[1][1][100:300].min() == 0.25


def test_quiet_at_either_end_is_trimmed_to_the_margin_and_silence_gives_nothing():
    audio = 0.5 * np.concatenate([np.zeros(240), np.ones(300), np.zeros(240)]).astype(np.float32)
    # shorter than a pause, but at the edges of a chunk: trimmed to 100 samples each side
    assert [(o, len(s)) for o, s in split_at_pauses(audio, 1000, min_pause=0.3, keep=0.1)] == [(0.14, 500)]
    assert list(split_at_pauses(np.zeros(1000, np.float32), 1000)) == []


def test_short_pauses_do_not_split():
    audio = 0.5 * np.concatenate([np.ones(300), np.zeros(200), np.ones(300)]).astype(np.float32)
    assert [len(s) for _, s in split_at_pauses(audio, 1000, min_pause=0.3)] == [800]


def test_quietest_cut_finds_the_pause():
    rate = 1000
    audio = np.ones(1000, np.float32)
    audio[600:640] = 0.0
    cut = quietest_cut(audio, rate, search_from=500)
    assert 600 <= cut < 640


def test_chunk_array_pieces_cover_the_audio_exactly_once():
    rate = 100
    audio = np.random.default_rng(0).normal(size=2500).astype(np.float32)
    pieces = list(chunk_array(audio, rate, max_seconds=4, search_seconds=1))
    assert all(len(p) <= 400 for _, p in pieces)
    np.testing.assert_array_equal(np.concatenate([p for _, p in pieces]), audio)
    assert [round(o * rate) for o, _ in pieces] == list(np.cumsum([0] + [len(p) for _, p in pieces[:-1]]))


def peak_memory_of_streaming(path, rate):
    tracemalloc.start()
    total, largest = 0, 0
    for _offset, piece in stream_chunks(path, rate, max_seconds=10):
        total += len(piece)
        largest = max(largest, len(piece))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return total, largest, peak


def test_stream_chunks_reads_block_by_block_with_flat_memory(tmp_path):
    rate = 16000
    rng = np.random.default_rng(0)
    peaks = {}
    for seconds in (120, 480):
        audio = (0.1 * rng.standard_normal(seconds * rate)).astype(np.float32)
        sf.write(tmp_path / f"{seconds}.wav", audio, rate, subtype="PCM_16")
        total, largest, peaks[seconds] = peak_memory_of_streaming(tmp_path / f"{seconds}.wav", rate)
        assert total == len(audio) and largest <= 10 * rate
    # four times the audio, about the same memory (loading whole would take 7.7 MB vs 30.7 MB)
    assert peaks[480] < 1.2 * peaks[120], peaks
    assert peaks[480] < 480 * rate * 4 / 5, peaks


def test_best_cut_is_the_middle_of_the_longest_pause():
    rate = 1000  # 20-sample frames
    audio = np.full(2000, 0.5, np.float32)
    audio[1100:1200] = 0.0  # short pause
    audio[1400:1800] = 0.0  # longest pause: its middle is 1600
    assert best_cut(audio, rate, search_from=1000) == 1600
    assert best_cut(np.full(500, 0.5, np.float32), rate, search_from=0) < 500  # no pause: quietest point


def no_pause_signals(rate: int, seconds: float) -> dict[str, np.ndarray]:
    """Audio with no pause anywhere: white noise and a steady tone (every 20 ms window equally loud)."""
    t = np.arange(int(seconds * rate)) / rate
    return {
        "noise": np.random.default_rng(0).normal(0, 0.1, len(t)).astype(np.float32),
        "tone": (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32),
    }


@pytest.mark.parametrize("kind", ["noise", "tone"])
@pytest.mark.parametrize("max_seconds", [1, 2, 3.5, 5, 7])
def test_every_cut_makes_progress_on_audio_without_pauses(kind, max_seconds):
    # A chunk shorter than the 5 s search window once searched all of itself: the quietest point of a piece
    # that starts at the previous cut is its first window, so the cut fell at 0 and the loop never ended.
    rate = 16000
    audio = no_pause_signals(rate, 20)[kind]
    pieces = list(itertools.islice(chunk_array(audio, rate, max_seconds), 200))  # bounded: a regression fails
    assert len(pieces) < 200 and all(len(p) > 0 for _, p in pieces)
    assert all(len(p) <= max_seconds * rate for _, p in pieces)
    np.testing.assert_array_equal(np.concatenate([p for _, p in pieces]), audio)


@pytest.mark.parametrize("kind", ["noise", "tone"])
def test_streamed_chunks_of_audio_without_pauses_end_and_cover_it(tmp_path, kind):
    rate = 16000
    audio = no_pause_signals(rate, 20)[kind]
    sf.write(tmp_path / f"{kind}.wav", audio, rate, subtype="FLOAT")
    pieces = list(itertools.islice(stream_chunks(tmp_path / f"{kind}.wav", rate, max_seconds=2), 200))
    assert len(pieces) < 200 and all(len(p) > 0 for _, p in pieces)
    np.testing.assert_array_equal(np.concatenate([p for _, p in pieces]), audio)


def test_a_cut_never_falls_in_the_first_half_of_a_piece():
    rate = 1000
    audio = np.full(4000, 0.5, np.float32)
    audio[100:400] = 0.0  # the only pause is early in the piece: cutting there would leave tiny pieces
    assert next_cut(audio, rate, search_seconds=5.0) >= 2000
    assert next_cut(np.zeros(1, np.float32), rate, search_seconds=5.0) == 1  # even one sample moves on


def test_a_file_that_fails_to_decode_halfway_is_an_audio_error_saying_where(tmp_path):
    rate = 16000
    sf.write(tmp_path / "long.flac", np.random.default_rng(0).normal(0, 0.1, 40 * rate).astype(np.float32), rate)
    data = (tmp_path / "long.flac").read_bytes()
    (tmp_path / "cut.flac").write_bytes(data[: len(data) // 2])  # the header still promises 40 s
    with pytest.raises(AudioError, match=r"^unreadable audio after \d+\.\d s \(.*\)$"):
        list(stream_chunks(tmp_path / "cut.flac", rate, max_seconds=10))
