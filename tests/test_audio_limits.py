"""Lying headers and huge inputs: rejected with a reason, and never read whole or resampled by a giant filter."""

import struct
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from asr.audio.io import AudioTooLong, checked_blocks, load_audio, open_audio, resampling_factors
from asr.audio.limits import BLOCK_SAMPLES, MAX_RESAMPLING_FACTOR
from asr.corpus.common import SourceUtterance, convert_utterances
from asr.errors import AudioError
from tests.corpus_fixtures import tone


def lying_rate_wav(path, rate: int):
    """A real 16 kHz WAV whose header then claims `rate` (the fmt chunk's sample rate and byte rate)."""
    sf.write(path, tone(16000, 16000), 16000, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    assert data[12:16] == b"fmt " and struct.unpack("<I", data[24:28])[0] == 16000
    data[24:32] = struct.pack("<II", rate, (rate * 2) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("rate", [1, 2_147_483_647])  # 1 Hz; a prime number of Hz near the 32-bit limit
def test_a_header_with_an_absurd_rate_is_rejected_before_any_filter_is_built(tmp_path, rate):
    path = lying_rate_wav(tmp_path / "liar.wav", rate)
    assert sf.info(str(path)).samplerate == rate  # libsndfile believes it
    tracemalloc.start()
    try:
        with pytest.raises(AudioError, match=f"implausible sample rate {rate} Hz"):
            load_audio(path, 16000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20  # the file is 32 KB; a filter for 1 Hz -> 16 kHz alone would be gigabytes


def test_resampling_ratios_are_exact_for_common_rates_and_bounded_for_odd_ones():
    assert resampling_factors(44100, 16000) == (160, 441)
    assert resampling_factors(8000, 16000) == (2, 1)
    assert resampling_factors(48000, 16000) == (1, 3)
    for orig in (44101, 47999, 1009, 767_999):
        up, down = resampling_factors(orig, 16000)
        assert max(up, down) <= MAX_RESAMPLING_FACTOR
        assert abs(up / down - 16000 / orig) / (16000 / orig) < 1e-4  # 0.01 % off in speed: inaudible


def test_many_channels_are_read_in_blocks_of_bounded_size_and_mixed_to_mono(tmp_path):
    channels = 300
    audio = np.tile(tone(8000, 8000)[:, None], (1, channels)) * np.linspace(0, 1, channels)[None, :]
    sf.write(tmp_path / "array.wav", audio.astype(np.float32), 8000, subtype="FLOAT")
    with open_audio(tmp_path / "array.wav") as handle:
        sizes = [block.size for block in checked_blocks(handle)]
    assert sum(sizes) == audio.size and max(sizes) <= BLOCK_SAMPLES
    np.testing.assert_allclose(load_audio(tmp_path / "array.wav", 8000), audio.mean(axis=1), atol=1e-6)


def test_a_long_file_is_read_no_further_than_the_limit(tmp_path):
    rate, minutes = 8000, 5
    sf.write(tmp_path / "long.wav", np.tile(tone(rate, rate), 60 * minutes), rate, subtype="PCM_16")
    whole = 60 * minutes * rate * 4  # bytes of float32 samples, were it read whole
    tracemalloc.start()
    try:
        with pytest.raises(AudioTooLong, match=r"longer than the limit of 10 s, data.max_seconds"):
            load_audio(tmp_path / "long.wav", rate, max_seconds=10, limit_name="data.max_seconds")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < whole / 2


def test_headerless_pcm_is_read_in_blocks_too(tmp_path):
    pcm = (tone(8000, 8000 * 3) * 32767).astype("<i2")
    (tmp_path / "x.raw").write_bytes(pcm.tobytes())
    with pytest.raises(AudioTooLong):
        load_audio(tmp_path / "x.raw", 8000, max_seconds=2, raw_rate=8000)
    np.testing.assert_array_equal(load_audio(tmp_path / "x.raw", 8000, raw_rate=8000), pcm / 32768.0)
    with pytest.raises(AudioError, match="implausible sample rate 1 Hz"):
        load_audio(tmp_path / "x.raw", 8000, raw_rate=1)


def test_prepare_rejects_liars_and_long_files_with_their_reasons_and_converts_the_rest(tmp_path):
    sf.write(tmp_path / "good.wav", tone(16000, 16000), 16000, subtype="PCM_16")
    sf.write(tmp_path / "long.wav", tone(16000, 16000 * 4), 16000, subtype="PCM_16")
    lying_rate_wav(tmp_path / "liar.wav", 2_000_000_000)
    nan = tone(16000, 16000).astype(np.float32)
    nan[9000] = np.inf
    sf.write(tmp_path / "inf.wav", nan, 16000, subtype="FLOAT")
    utterances = [SourceUtterance(name, tmp_path / f"{name}.wav", "a text", "s", "train")
                  for name in ("good", "liar", "long", "inf")]
    rows, rejected = convert_utterances(utterances, tmp_path / "out", 16000, max_seconds=3)
    assert [row["id"] for row in rows] == ["good"]
    reasons = {r.id: r.reason for r in rejected}
    assert reasons["liar"].startswith("implausible sample rate 2000000000 Hz")
    assert reasons["long"] == "longer than the limit of 3 s, data.max_seconds"
    assert reasons["inf"].startswith("non-finite samples (NaN or inf)")
