"""Batches by frame budget (train.batch_frames) and the learning-rate warmup (train.warmup_steps)."""

from pathlib import Path

import numpy as np
import pytest

from asr.errors import UserError
from asr.features.mfcc import FeatureSettings, Normaliser
from asr.model.data import bucket_batch_sizes, make_dataset, read_labels
from asr.model.training import TrainSettings


def settings(**changes) -> TrainSettings:
    return TrainSettings(0, 16, 4, 1, "adam", 0.004, 5, 0.5, 1, 0.0001, 1, 0, **changes)


def test_a_bucket_holds_as_many_utterances_as_its_longest_fits_in_the_budget():
    # buckets [0, 101), [101, 201), [201, 350]: padded to at most 100, 200 and 350 frames
    assert bucket_batch_sizes([50, 150, 350], [101, 201], 16, 1000) == [10, 5, 2]
    # a budget below the longest utterance still makes batches of one
    assert bucket_batch_sizes([50, 150, 350], [101, 201], 16, 120) == [1, 1, 1]
    assert bucket_batch_sizes([50, 150, 350], [101, 201], 16, None) == [16, 16, 16]


@pytest.mark.slow
def test_training_batches_stay_within_the_frame_budget_and_cover_the_split_once(tiny_data):
    cfg, _ = tiny_data
    features_dir = Path(cfg.paths.features)
    labels = read_labels(Path(cfg.paths.labels) / "train.csv")
    dim = FeatureSettings.load(features_dir / "settings.json").dim
    normaliser = Normaliser.load(features_dir / "cmvn.json")
    budget = int(labels["num_frames"].max()) * 3  # room for three of the longest, more of the short ones
    batches = list(make_dataset(features_dir, "train", labels, normaliser, 2, True, 0, dim, batch_frames=budget))
    padded = [int(np.prod(b["features"].shape[:2])) for b in batches]
    assert max(padded) <= budget
    sizes = [int(b["features"].shape[0]) for b in batches]
    assert max(sizes) > 2  # short utterances come more than batch_size (2) at a time
    ids = sorted(i.decode() for b in batches for i in b["ids"].numpy())
    assert ids == sorted(labels["id"])


def test_warmup_rises_linearly_to_the_rate_then_holds():
    warm = settings(warmup_steps=4)
    assert [warm.warmup_rate(n, 0.004) for n in (1, 2, 3, 4, 5, 100)] == [0.001, 0.002, 0.003, 0.004, 0.004, 0.004]
    assert settings().warmup_rate(1, 0.004) == 0.004  # no warmup


def test_precision_settings_name_their_dtype_and_loss_scaling():
    assert (settings().compute_dtype, settings().loss_scaling) == ("float32", False)
    assert (settings(mixed_precision=True).compute_dtype, settings(mixed_precision=True).loss_scaling) == ("float16", True)
    bf16 = settings(mixed_precision="bfloat16")
    assert (bf16.compute_dtype, bf16.loss_scaling) == ("bfloat16", False)


@pytest.mark.parametrize("key, value", [("batch_frames", 0), ("warmup_steps", -1), ("mixed_precision", "int8")])
def test_bad_values_name_the_key(key, value):
    with pytest.raises(UserError, match=f"train.{key}"):
        settings(**{key: value}).validate()
