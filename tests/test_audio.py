"""asr.audio.io: resampling, mixing to mono, every input format, raw PCM, WAV output, bad inputs."""

import numpy as np
import pytest
import soundfile as sf

from asr.audio.io import load_audio, load_raw_pcm, resample, to_mono, write_wav
from asr.errors import AudioError
from tests.corpus_fixtures import tone


def dominant_frequency(audio: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.argmax(spectrum) * rate / len(audio))


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_resample_to_16k_keeps_duration_and_pitch(rate):
    audio = tone(rate, rate // 2)  # 0.5 s of 440 Hz
    out = resample(audio, rate, 16000)
    assert out.dtype == np.float32
    assert abs(len(out) - 8000) <= 1
    assert abs(dominant_frequency(out, 16000) - 440.0) <= 2.0  # FFT bins are 2 Hz apart here


def test_resample_same_rate_is_identity():
    audio = tone(16000, 100)
    np.testing.assert_array_equal(resample(audio, 16000, 16000), audio)


def test_stereo_is_averaged_to_mono(tmp_path):
    stereo = np.tile(np.array([[0.5, -0.1]], np.float32), (1600, 1))  # left 0.5, right -0.1
    np.testing.assert_allclose(to_mono(stereo), np.full(1600, 0.2), atol=1e-7)
    sf.write(str(tmp_path / "s.wav"), stereo, 16000, subtype="FLOAT")
    loaded = load_audio(tmp_path / "s.wav", 16000)
    assert loaded.shape == (1600,)
    np.testing.assert_allclose(loaded, 0.2, atol=1e-7)


@pytest.mark.parametrize("name, kwargs, atol", [
    ("u8.wav", dict(subtype="PCM_U8"), 1 / 128),  # 8-bit step is 1/128
    ("s24.wav", dict(subtype="PCM_24"), 2 ** -23),
    ("f32.wav", dict(subtype="FLOAT"), 1e-7),
    ("s16.flac", dict(format="FLAC"), 2 ** -15),
    ("v.ogg", dict(format="OGG"), 0.03),  # lossy; measured max error ~0.015
])
def test_every_format_loads_to_the_same_signal(tmp_path, name, kwargs, atol):
    original = tone(16000, 8000)
    sf.write(str(tmp_path / name), original, 16000, **kwargs)
    loaded = load_audio(tmp_path / name, 16000)
    assert loaded.dtype == np.float32 and loaded.shape == original.shape
    np.testing.assert_allclose(loaded, original, atol=atol)


def test_raw_pcm_round_trip(tmp_path):
    samples = np.array([0, 16384, -32768, 32767, -8192], dtype="<i2")
    (tmp_path / "x.raw").write_bytes(samples.tobytes())
    np.testing.assert_array_equal(load_raw_pcm(tmp_path / "x.raw", 16000, 16000),
                                  np.array([0, 0.5, -1, 32767 / 32768, -0.25], np.float32))
    pcm = (tone(8000, 4000) * 32767).astype("<i2")
    (tmp_path / "y.raw").write_bytes(pcm.tobytes())
    upsampled = load_raw_pcm(tmp_path / "y.raw", 8000, 16000)
    assert len(upsampled) == 8000
    assert abs(dominant_frequency(upsampled, 16000) - 440.0) <= 2.0


def test_write_wav_is_mono_pcm16_and_leaves_no_temp_file(tmp_path):
    audio = np.array([0.0, 0.5, -0.5, 1.5, -2.0], np.float32)  # last two get clipped
    write_wav(tmp_path / "out" / "a.wav", audio, 16000)
    info = sf.info(str(tmp_path / "out" / "a.wav"))
    assert (info.samplerate, info.channels, info.subtype, info.format, info.frames) == (16000, 1, "PCM_16", "WAV", 5)
    data, _ = sf.read(str(tmp_path / "out" / "a.wav"), dtype="int16")
    np.testing.assert_array_equal(data, [0, 16384, -16384, 32767, -32768])
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a.wav"]


def test_failed_write_leaves_nothing_behind(tmp_path):
    with pytest.raises(Exception):
        write_wav(tmp_path / "b.wav", np.zeros((2, 2, 2), np.float32), 16000)  # 3-D: unwritable
    assert list(tmp_path.iterdir()) == []


def test_bad_inputs_raise_audio_error_with_reason(tmp_path):
    (tmp_path / "corrupt.wav").write_bytes(np.random.default_rng(0).bytes(2000))
    (tmp_path / "zero_bytes.wav").write_bytes(b"")
    sf.write(str(tmp_path / "no_frames.wav"), np.zeros(0, np.float32), 22050)
    sf.write(str(tmp_path / "zeros.wav"), np.zeros(1600, np.float32), 16000)
    sf.write(str(tmp_path / "quiet.wav"), np.full(1600, 1e-5, np.float32), 16000, subtype="FLOAT")
    sf.write(str(tmp_path / "nan.wav"), np.full(1600, np.nan, np.float32), 16000, subtype="FLOAT")
    cases = {
        "missing.wav": "file not found",
        "corrupt.wav": "unreadable audio",
        "zero_bytes.wav": "unreadable audio",
        "no_frames.wav": "empty audio (0 samples)",
        "zeros.wav": "silent audio (peak -inf dBFS)",
        "quiet.wav": "silent audio (peak -100 dBFS)",  # 20 * log10(1e-5)
        "nan.wav": "non-finite samples",
    }
    for name, reason in cases.items():
        with pytest.raises(AudioError, match=reason.replace("(", r"\(").replace(")", r"\)")):
            load_audio(tmp_path / name, 16000)


def test_bad_raw_pcm_raises_audio_error_with_reason(tmp_path):
    (tmp_path / "odd.raw").write_bytes(b"\x00\x01\x02")
    (tmp_path / "empty.raw").write_bytes(b"")
    (tmp_path / "zeros.raw").write_bytes(bytes(3200))
    cases = {"odd.raw": r"odd byte count \(3\)", "empty.raw": "empty audio", "zeros.raw": "silent audio",
             "missing.raw": "file not found"}
    for name, reason in cases.items():
        with pytest.raises(AudioError, match=reason):
            load_raw_pcm(tmp_path / name, 16000, 16000)
