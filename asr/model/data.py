"""tf.data input pipeline: stream feature shards, normalise, bucket by length, pad, prefetch."""

from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from asr.csvio import read_text_table
from asr.features.mfcc import Normaliser
from asr.errors import UserError
from asr.model.spec_augment import SpecAugmentSettings, spec_augment
from asr.text.labels import encode_labels, filter_alignable
from asr.features.shards import iter_split

# Padded frames are exactly zero; the model's Masking layer relies on that.
PAD_FEATURE = 0.0
PAD_LABEL = 0


def read_labels(path) -> pd.DataFrame:
    """A labels CSV (asr.text.labels.LABEL_COLUMNS): text as written, num_frames and duration as numbers."""
    return read_text_table(path, integers=["num_frames"], floats=["duration"])


def read_alignable_splits(labels_dir, splits, subsample: int, log=print) -> dict[str, pd.DataFrame]:
    """Each split's labels less the utterances too short to align (each reported through `log`)."""
    result = {}
    for split in splits:
        path = Path(labels_dir) / f"{split}.csv"
        labels, dropped = filter_alignable(read_labels(path), subsample)
        for utt_id, reason in dropped:
            log(f"skipped {split} utterance {utt_id}: {reason}")
        if labels.empty:
            raise UserError(f"no usable {split} utterances in {path}")
        result[split] = labels
    return result


def bucket_boundaries(num_frames, batch_size: int, max_buckets: int = 8) -> list[int]:
    """Frame-count boundaries at quantiles, so each bucket holds similar lengths (little padding)."""
    num_buckets = int(np.clip(len(num_frames) // (4 * batch_size), 1, max_buckets))
    quantiles = np.quantile(np.asarray(num_frames), np.linspace(0, 1, num_buckets + 1)[1:-1])
    return sorted({int(q) + 1 for q in quantiles})


# A frame budget makes batches of long utterances fewer and of short ones more: the buckets can be narrower
# (less padding) at the same number of utterances per bucket.
FRAME_BUDGET_BUCKETS = 16
SHUFFLE_LIMIT = 4096  # utterances held for shuffling (a few hundred MB of features at most)


def bucket_batch_sizes(num_frames, boundaries: list[int], batch_size: int, batch_frames: int | None) -> list[int]:
    """Utterances per batch in each bucket: `batch_size`, or as many as fit `batch_frames` padded frames.

    Bucket k holds lengths in [boundaries[k-1], boundaries[k]); its batches are padded to at most its upper
    end (the longest utterance for the last bucket), so batch_frames // upper end never exceeds the budget.
    """
    if batch_frames is None:
        return [batch_size] * (len(boundaries) + 1)
    uppers = [b - 1 for b in boundaries] + [int(np.max(num_frames))]
    return [max(1, batch_frames // max(upper, 1)) for upper in uppers]


def make_dataset(features_dir, split: str, labels: pd.DataFrame, normaliser: Normaliser, batch_size: int,
                 shuffle: bool, seed: int, dim: int, masking: SpecAugmentSettings | None = None,
                 epoch: int = 0, batch_frames: int | None = None) -> tf.data.Dataset:
    """Batches of dicts: features (B, T, dim) f32, labels (B, L) i32, feature_lengths (B,), label_lengths (B,), ids (B,).

    Only utterances listed in `labels` are read; shards are streamed one at a time. `masking`
    (training only) applies SpecAugment to each utterance before batching. The order and the masks
    depend only on (seed, epoch), not on how many epochs this process has run: a resumed run repeats them.
    `batch_frames`: batches of about that many (padded) frames instead of `batch_size` utterances.
    """
    label_by_id = {row.id: np.asarray(encode_labels(row.label), np.int32) for row in labels.itertuples()}

    def generate():
        for utt_id, features in iter_split(features_dir, split, ids=label_by_id):
            yield normaliser.apply(features), label_by_id[utt_id], utt_id

    dataset = tf.data.Dataset.from_generator(
        generate,
        output_signature=(
            tf.TensorSpec((None, dim), tf.float32),
            tf.TensorSpec((None,), tf.int32),
            tf.TensorSpec((), tf.string),
        ),
    )
    if batch_frames is None:
        boundaries = bucket_boundaries(labels["num_frames"], batch_size)
    else:
        boundaries = bucket_boundaries(labels["num_frames"], 1, max_buckets=FRAME_BUDGET_BUCKETS)
    batch_sizes = bucket_batch_sizes(labels["num_frames"], boundaries, batch_size, batch_frames)
    epoch_seed = seed * 1_000_003 + epoch  # distinct per epoch, and the same in every process
    if shuffle:
        # room for 32 of the largest batches (the whole corpus when smaller); capped: shards stream for a reason
        dataset = dataset.shuffle(min(32 * max(batch_sizes), SHUFFLE_LIMIT), seed=epoch_seed)
    if masking is not None and masking.enabled:
        # stateless draws seeded by (epoch, position in the epoch): no generator state to carry across a resume
        dataset = dataset.enumerate().map(
            lambda k, e: (spec_augment(e[0], masking, tf.stack([tf.constant(epoch_seed, tf.int64), k])), e[1], e[2]))
    dataset = dataset.map(
        lambda x, y, i: dict(features=x, labels=y, feature_lengths=tf.shape(x)[0], label_lengths=tf.shape(y)[0], ids=i)
    )
    dataset = dataset.bucket_by_sequence_length(
        element_length_func=lambda e: e["feature_lengths"],
        bucket_boundaries=boundaries,
        bucket_batch_sizes=batch_sizes,
        padding_values=dict(features=PAD_FEATURE, labels=PAD_LABEL, feature_lengths=0, label_lengths=0, ids=""),
    )
    return dataset.prefetch(tf.data.AUTOTUNE)
