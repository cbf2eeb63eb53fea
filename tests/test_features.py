"""MFCC + deltas against a direct python_speech_features call; CMVN; shards; parallel extraction."""

import numpy as np
import pandas as pd
import pytest
import python_speech_features as psf
import soundfile as sf

from asr.errors import UserError
from asr.features.extract import extract_corpus
from asr.features.mfcc import FeatureSettings, Normaliser, StatsAccumulator, compute_features, regression_delta
from asr.features.shards import iter_split, read_shard, write_shard


def chirp(seconds=0.5, rate=16000, seed=0):
    t = np.arange(int(seconds * rate)) / rate
    noise = np.random.default_rng(seed).normal(0, 0.01, t.size)
    return (0.5 * np.sin(2 * np.pi * (200 + 800 * t) * t) + noise).astype(np.float32)


@pytest.mark.parametrize("rate, nfft", [(8000, 256), (16000, 512), (22050, 1024), (44100, 2048), (48000, 2048)])
def test_nfft_is_smallest_power_of_two_covering_the_window(rate, nfft):
    assert FeatureSettings(sample_rate=rate).nfft == nfft


def test_features_match_a_direct_python_speech_features_call():
    audio = chirp()
    settings = FeatureSettings(sample_rate=16000)
    features = compute_features(audio, settings)
    mfcc = psf.mfcc(audio, 16000, 0.025, 0.01, 13, 26, 512, preemph=0.97, winfunc=np.hamming)
    d1 = psf.delta(mfcc, 2)
    d2 = psf.delta(d1, 2)
    # 0.5 s at a 10 ms step: 1 + ceil((8000 - 400) / 160) = 49 frames of 39 values
    assert features.shape == (49, 39)
    assert features.dtype == np.float32
    np.testing.assert_allclose(features, np.hstack([mfcc, d1, d2]), rtol=1e-5, atol=1e-4)


def test_delta_of_a_linear_ramp_is_its_slope_and_edges_repeat_the_end_frames():
    # A regression over +-2 frames: for c_t = t the slope is exactly 1 away from the edges. At t = 0 the padded
    # frames are c_-2 = c_-1 = 0, so d_0 = (1 * (1 - 0) + 2 * (2 - 0)) / (2 * (1 + 4)) = 5 / 10.
    ramp = np.arange(20, dtype=float)[:, None]
    delta = regression_delta(ramp, 2)
    assert np.allclose(delta[2:-2], 1.0)
    assert delta[0, 0] == pytest.approx(0.5)
    assert delta[-1, 0] == pytest.approx(0.5)


@pytest.mark.parametrize("frames", [1, 2, 3, 5, 57])
@pytest.mark.parametrize("window", [1, 2, 3])
def test_vectorised_delta_equals_python_speech_features_delta(frames, window):
    # Shorter inputs than the window included: every frame then reads padding on both sides.
    features = np.random.default_rng(frames).normal(0, 10, (frames, 13))
    np.testing.assert_allclose(regression_delta(features, window), psf.delta(features, window), rtol=1e-12, atol=1e-12)


def test_stats_accumulator_matches_numpy_and_normaliser_whitens():
    rng = np.random.default_rng(1)
    chunks = [rng.normal(3.0, 2.0, (n, 4)).astype(np.float32) for n in (10, 25, 7)]
    acc = StatsAccumulator(4)
    for chunk in chunks:
        acc.add(chunk)
    everything = np.concatenate(chunks)
    normaliser = acc.normaliser()
    np.testing.assert_allclose(normaliser.mean, everything.mean(0), rtol=1e-5)
    np.testing.assert_allclose(normaliser.std, everything.std(0), rtol=1e-4)
    whitened = normaliser.apply(everything)
    np.testing.assert_allclose(whitened.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(whitened.std(0), 1, atol=1e-4)


def test_constant_dimension_gets_a_floor_not_a_division_by_zero():
    acc = StatsAccumulator(2)
    acc.add(np.array([[1.0, 5.0], [3.0, 5.0]], np.float32))
    normaliser = acc.normaliser()
    assert normaliser.std[1] > 0
    assert np.all(np.isfinite(normaliser.apply(np.array([[2.0, 5.0]], np.float32))))


def test_normaliser_and_settings_round_trip(tmp_path):
    normaliser = Normaliser(np.array([1.0, 2.0], np.float32), np.array([0.5, 4.0], np.float32))
    normaliser.save(tmp_path / "cmvn.json")
    loaded = Normaliser.load(tmp_path / "cmvn.json")
    np.testing.assert_array_equal(loaded.mean, normaliser.mean)
    settings = FeatureSettings(sample_rate=8000, num_cep=12)
    settings.save(tmp_path / "settings.json")
    assert FeatureSettings.load(tmp_path / "settings.json") == settings


def test_bad_statistics_file_is_refused(tmp_path):
    (tmp_path / "cmvn.json").write_text('{"mean": [0, 0], "std": [1, 0]}')
    with pytest.raises(UserError, match="std > 0"):
        Normaliser.load(tmp_path / "cmvn.json")


def test_shard_round_trip(tmp_path):
    arrays = [np.full((n, 3), n, np.float32) for n in (2, 5, 1)]
    write_shard(tmp_path / "s.npz", ["a", "b", "c"], arrays)
    loaded = read_shard(tmp_path / "s.npz")
    assert list(loaded) == ["a", "b", "c"]
    for key, array in zip("abc", arrays):
        np.testing.assert_array_equal(loaded[key], array)


@pytest.mark.parametrize("start_method", ["fork", "spawn"])  # fork for the stage, spawn once TensorFlow is loaded
def test_parallel_extraction_writes_shards_index_and_train_only_stats(tmp_path, monkeypatch, start_method):
    monkeypatch.setattr("asr.features.extract.worker_start_method", lambda: start_method)
    rows = []
    for i, split in enumerate(["train"] * 5 + ["dev"] * 2):
        audio = chirp(0.3 + 0.1 * i, seed=i) * (1.0 if split == "train" else 0.2)
        sf.write(tmp_path / f"u{i}.wav", audio, 16000, subtype="PCM_16")
        rows.append(dict(id=f"u{i}", path=f"u{i}.wav", split=split))
    manifest = pd.DataFrame(rows)
    manifests = {s: manifest[manifest.split == s] for s in ("train", "dev")}
    settings = FeatureSettings(sample_rate=16000)
    out = tmp_path / "features"
    index, normaliser = extract_corpus(manifests, tmp_path, out, settings, shard_size=2, workers=2)

    assert index["id"].tolist() == [f"u{i}" for i in range(7)]
    assert index["shard"].nunique() == 4  # train 2+2+1, dev 2
    train = dict(iter_split(out, "train"))
    for i in range(5):
        audio, _ = sf.read(tmp_path / f"u{i}.wav", dtype="float32")
        np.testing.assert_allclose(train[f"u{i}"], compute_features(audio, settings), atol=1e-5)
        assert index.loc[i, "num_frames"] == len(train[f"u{i}"])
    # statistics come from the train split only
    expected = np.concatenate(list(train.values()))
    np.testing.assert_allclose(normaliser.mean, expected.mean(0), rtol=1e-4, atol=1e-4)


def test_utterance_cepstral_mean_removes_the_recording_level():
    # A gain g adds log(g^2) to every log filterbank energy: with the DCT that moves only the
    # energy term and c0 by a constant per frame, which the utterance mean takes away.
    audio = np.random.default_rng(3).standard_normal(16000).astype(np.float32) * 0.1
    with_mean = FeatureSettings(sample_rate=16000, cepstral_mean="utterance")
    plain = FeatureSettings(sample_rate=16000)
    assert np.allclose(compute_features(audio * 4, with_mean), compute_features(audio, with_mean), atol=1e-3)
    assert not np.allclose(compute_features(audio * 4, plain), compute_features(audio, plain), atol=1e-1)
    assert np.abs(compute_features(audio, with_mean)[:, :13].mean(axis=0)).max() < 1e-4


def test_utterance_variance_gives_zero_mean_unit_spread_cepstra_and_survives_silence():
    rng = np.random.default_rng(4)
    audio = (rng.standard_normal(16000) * np.linspace(0.01, 0.3, 16000)).astype(np.float32)
    settings = FeatureSettings(sample_rate=16000, cepstral_mean="utterance_variance")
    cepstra = compute_features(audio, settings)[:, :13]  # (frames, 13): the deltas follow from these
    np.testing.assert_allclose(cepstra.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(cepstra.std(axis=0), 1, atol=1e-3)
    # Digital silence has constant cepstra (no spread): finite zeros, not a division by zero.
    silent = compute_features(np.zeros(16000, np.float32), settings)
    assert np.isfinite(silent).all() and np.abs(silent).max() < 1e-4


def test_unknown_cepstral_mean_is_a_user_error():
    with pytest.raises(UserError, match="features.cepstral_mean has an invalid value: 'frame'"):
        FeatureSettings(sample_rate=16000, cepstral_mean="frame").validate()
