"""SpecAugment (Park et al., 2019) on normalised feature frames: frequency and time masks, training only.

Masked values become 0, the mean after normalisation. Widths are drawn uniformly in [0, max]. Training
passes a seed per utterance (stateless draws: a rerun, or a resumed run, masks alike); without one the
draws come from TensorFlow's global generator.
"""

from dataclasses import dataclass

import tensorflow as tf


@dataclass(frozen=True)
class SpecAugmentSettings:
    freq_masks: int = 2  # masks over feature channels (of the 3 * num_cep MFCC + delta values)
    freq_width: int = 5  # widest frequency mask, in channels
    time_masks: int = 2
    time_width: int = 20  # widest time mask, in frames (10 ms each), at most a fifth of the utterance

    @property
    def enabled(self) -> bool:
        return (self.freq_masks > 0 and self.freq_width > 0) or (self.time_masks > 0 and self.time_width > 0)


def _draw(maxval, seed, salt: int):
    """A uniform int32 in [0, maxval): stateless when `seed` ((2,) int64) is given, `salt` telling draws apart."""
    if seed is None:
        return tf.random.uniform([], 0, maxval, tf.int32)
    return tf.random.stateless_uniform([], tf.cast(seed, tf.int64) + [0, 1_000_000 * salt], 0, maxval, tf.int32)


def _band_mask(length, max_width, count: int, seed=None, salt: int = 0):
    """(length,) float32: 0 inside `count` random bands of width <= max_width, 1 elsewhere."""
    keep = tf.ones([length], tf.float32)
    positions = tf.range(length)
    for k in range(count):
        width = _draw(max_width + 1, seed, salt + 2 * k)
        start = _draw(tf.maximum(length - width, 0) + 1, seed, salt + 2 * k + 1)
        inside = (positions >= start) & (positions < start + width)
        keep *= 1.0 - tf.cast(inside, tf.float32)
    return keep


def spec_augment(features, settings: SpecAugmentSettings, seed=None):
    """Mask (frames, dim) features; returns the same shape. `seed`: (2,) int64 for stateless draws."""
    frames, dim = tf.shape(features)[0], tf.shape(features)[1]
    if settings.freq_masks > 0 and settings.freq_width > 0:
        features = features * _band_mask(dim, settings.freq_width, settings.freq_masks, seed)[tf.newaxis, :]
    if settings.time_masks > 0 and settings.time_width > 0:
        width = tf.minimum(settings.time_width, frames // 5)
        salt = 2 * settings.freq_masks
        features = features * _band_mask(frames, width, settings.time_masks, seed, salt)[:, tf.newaxis]
    return features
