"""Training-audio augmentation and SpecAugment: hand-checkable effects, determinism, config errors."""

import numpy as np
import pytest
import tensorflow as tf

from asr.audio.augment import AugmentSettings, augment, speed_perturb, telephone
from asr.errors import UserError
from asr.model.spec_augment import SpecAugmentSettings, spec_augment

RATE = 16000
OFF = dict(pitch_p=0.0, reverb_p=0.0, noise_p=0.0, telephone_p=0.0, gain_db=(0.0, 0.0))


def tone(hz: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def level_db(audio: np.ndarray) -> float:
    return 10 * np.log10(np.mean(np.square(audio, dtype=np.float64)))


def test_speed_perturbation_shortens_by_the_factor_on_a_100_hz_grid():
    # 1.1: resampled to round(16000 / 1.1, -2) = 14500 Hz, so 16000 samples become 14500.
    assert len(speed_perturb(tone(440), RATE, 1.1)) == 14500
    assert len(speed_perturb(tone(440), RATE, 0.9)) == 17800  # 16000 / 0.9 = 17778 -> 17800
    assert np.array_equal(speed_perturb(tone(440), RATE, 1.0), tone(440))  # 1.0: untouched


def test_speed_perturbation_moves_the_pitch_with_the_tempo():
    faster = speed_perturb(tone(1000), RATE, 1.1)
    spectrum = np.abs(np.fft.rfft(faster))
    peak_hz = np.argmax(spectrum) * RATE / len(faster)
    assert peak_hz == pytest.approx(1000 * 16000 / 14500, rel=0.01)


def test_telephone_keeps_the_voice_band_and_removes_what_is_above():
    kept, cut = telephone(tone(1000), RATE), telephone(tone(6000), RATE)
    assert len(kept) == RATE and len(cut) == RATE
    assert level_db(kept) == pytest.approx(level_db(tone(1000)), abs=1.0)
    assert level_db(cut) < level_db(tone(6000)) - 30  # measured: 35.6 dB down


def test_with_every_transform_off_only_the_speed_is_drawn():
    settings = AugmentSettings(speeds=(1.0,), **OFF)
    audio, applied = augment(tone(440), RATE, settings, np.random.default_rng(0))
    assert applied == "none" and np.allclose(audio, tone(440))


def test_augmentation_is_seeded_and_does_change_the_audio():
    settings = AugmentSettings(pitch_p=1.0, reverb_p=1.0, noise_p=1.0, telephone_p=1.0)
    first, applied = augment(tone(440), RATE, settings, np.random.default_rng(7))
    again, _ = augment(tone(440), RATE, settings, np.random.default_rng(7))
    other, _ = augment(tone(440), RATE, settings, np.random.default_rng(8))
    assert applied.endswith("pitch reverb telephone noise")
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert first.dtype == np.float32 and np.all(np.isfinite(first))


@pytest.mark.parametrize("bad, message", [
    (dict(noise_snr_db=(30, 10)), "data.augment.noise_snr_db must be"),
    (dict(speeds=()), "data.augment.speeds must be a non-empty list"),
    (dict(reverb_p=1.5), "data.augment.reverb_p must be in"),
])
def test_bad_settings_name_the_key(bad, message):
    with pytest.raises(UserError, match=message):
        AugmentSettings(**bad)


def test_spec_augment_masks_whole_bands_with_zeros_and_keeps_the_shape():
    tf.random.set_seed(0)
    features = tf.ones((200, 39))
    masked = spec_augment(features, SpecAugmentSettings(freq_masks=1, freq_width=5, time_masks=1, time_width=20))
    masked = masked.numpy()
    assert masked.shape == (200, 39)
    zero_columns = np.flatnonzero((masked == 0).all(axis=0))
    zero_rows = np.flatnonzero((masked == 0).all(axis=1))
    # At most one band of <= 5 channels and one of <= 20 frames, each contiguous; the rest untouched.
    assert len(zero_columns) <= 5 and (len(zero_columns) == 0 or np.ptp(zero_columns) == len(zero_columns) - 1)
    assert len(zero_rows) <= 20 and (len(zero_rows) == 0 or np.ptp(zero_rows) == len(zero_rows) - 1)
    kept = np.delete(np.delete(masked, zero_rows, axis=0), zero_columns, axis=1)
    assert (kept == 1).all()


def test_spec_augment_time_masks_stay_within_a_fifth_of_a_short_utterance():
    tf.random.set_seed(1)
    for _ in range(20):
        masked = spec_augment(tf.ones((10, 39)), SpecAugmentSettings(0, 0, 1, 50)).numpy()
        assert (masked == 0).all(axis=1).sum() <= 2  # 10 frames // 5


def test_spec_augment_off_is_not_enabled():
    assert not SpecAugmentSettings(0, 5, 0, 20).enabled and SpecAugmentSettings(1, 5, 0, 0).enabled
