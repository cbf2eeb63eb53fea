"""CTC loss over per-step log-probabilities, blank = index 0 (see asr.text.vocab).

keras.ops.ctc_loss documents its input as unnormalised logits; on the TensorFlow backend it applies a
log-softmax itself, which is the identity on log-probabilities (tests/test_ctc.py checks this).
"""

from keras import ops

from asr.text.vocab import BLANK_INDEX


def ctc_loss(labels, log_probs, label_lengths, logit_lengths):
    """Per-utterance CTC negative log-likelihood, shape (batch,).

    labels: int (batch, max_label_len), padded with 0; log_probs: (batch, steps, classes);
    label_lengths / logit_lengths: (batch,) TRUE lengths, never the padded widths. An impossible
    alignment (fewer steps than `asr.text.labels.steps_needed`) is not inf on the TensorFlow backend:
    tf.nn.ctc_loss_dense stands in log(1e-307) ~ -707 for log(0), so the loss is a finite ~707+.
    """
    return ops.ctc_loss(
        ops.cast(labels, "int32"),
        log_probs,
        ops.cast(label_lengths, "int32"),
        ops.cast(logit_lengths, "int32"),
        mask_index=BLANK_INDEX,
    )
