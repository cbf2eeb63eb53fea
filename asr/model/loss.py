"""CTC loss over per-step log-probabilities, blank = index 0 (see asr.text.vocab).

Why not keras.ops.ctc_loss: on the TensorFlow backend it takes dense labels, which runs
tf.nn.ctc_loss_dense, a graph loop whose cost grows with the square of the label length. On this
project's sentences (labels of 40-130 characters) a training step spent more time in the loss
than in the three recurrent layers. The same loss on sparse labels runs TensorFlow's C++ CTC
kernel: equal values (tests/test_ctc.py, and the first training steps of the default model to
3 decimals) at half the epoch time on 2 cores (see README, "The model and its training").
"""

import tensorflow as tf

from asr.text.vocab import BLANK_INDEX

assert BLANK_INDEX == 0, "ctc_loss moves the blank from index 0 to the end for TensorFlow's kernel"


def _sparse_labels(labels, label_lengths):
    """(batch, max_label_len) padded ids -> SparseTensor of the first `label_lengths[i]` ids of each row."""
    labels = tf.cast(labels, tf.int32)
    valid = tf.sequence_mask(label_lengths, tf.shape(labels)[1])  # (batch, max_label_len) bool
    return tf.SparseTensor(tf.where(valid), tf.boolean_mask(labels, valid), tf.cast(tf.shape(labels), tf.int64))


def _alignable(labels, label_lengths, logit_lengths):
    """(batch,) bool: the label fits its steps (one per character plus a blank between repeats).

    labels: (batch, width >= 1); ids past each row's length are ignored.
    """
    labels = tf.cast(labels, tf.int32)
    width = tf.shape(labels)[1]
    repeats = tf.logical_and(tf.equal(labels[:, 1:], labels[:, :-1]),
                             tf.sequence_mask(label_lengths - 1, width - 1))  # (batch, max_label_len - 1)
    needed = label_lengths + tf.reduce_sum(tf.cast(repeats, tf.int32), axis=1)
    return needed <= logit_lengths


def ctc_loss(labels, log_probs, label_lengths, logit_lengths):
    """Per-utterance CTC negative log-likelihood, shape (batch,).

    labels: int (batch, max_label_len), padded with anything past each length; log_probs:
    (batch, steps, classes), log-softmaxed inside (the identity on log-probabilities);
    label_lengths / logit_lengths: (batch,) TRUE lengths, never the padded widths. An impossible
    alignment (fewer steps than `asr.text.labels.steps_needed`) is +inf: the kernel would either
    raise for the whole batch or call it loss 0, and neither may reach an average.
    """
    labels = tf.cast(labels, tf.int32)
    label_lengths = tf.cast(label_lengths, tf.int32)
    logit_lengths = tf.cast(logit_lengths, tf.int32)
    log_probs = tf.nn.log_softmax(tf.cast(log_probs, tf.float32))  # (batch, steps, classes)
    # The kernel refuses an empty label: give such rows the label "a" and their true loss below.
    # One extra column of 1s makes that possible even when every label is empty (width 0).
    empty = tf.equal(label_lengths, 0)  # (batch,)
    kernel_labels = tf.pad(labels, [[0, 0], [0, 1]], constant_values=1)  # (batch, max_label_len + 1)
    kernel_labels = tf.where(empty[:, None], tf.ones_like(kernel_labels), kernel_labels)
    kernel_lengths = tf.maximum(label_lengths, 1)
    # The kernel wants the blank last: with the blank at index 0, move column 0 to the end and
    # shift the character ids down by one. (batch, steps, classes), columns [1, ..., classes - 1, 0].
    blank_last = tf.concat([log_probs[..., 1:], log_probs[..., :1]], axis=-1)
    # ignore_longer_outputs_than_inputs: an impossible utterance gets loss 0 instead of failing the
    # whole batch; the tf.where below turns that 0 into +inf.
    losses = tf.compat.v1.nn.ctc_loss(_sparse_labels(kernel_labels - 1, kernel_lengths), blank_last, logit_lengths,
                                      time_major=False, ignore_longer_outputs_than_inputs=True)
    # An empty label has one path, all blanks: minus the sum of the blank's log-probabilities.
    valid_steps = tf.sequence_mask(logit_lengths, tf.shape(log_probs)[1], dtype=tf.float32)  # (batch, steps)
    all_blank = -tf.reduce_sum(log_probs[..., BLANK_INDEX] * valid_steps, axis=1)
    losses = tf.where(empty, all_blank, losses)
    return tf.where(_alignable(kernel_labels, label_lengths, logit_lengths), losses, float("inf"))
