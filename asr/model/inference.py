"""Run the inference network over a dataset: per-utterance CTC loss, decoded text, timing."""

import time

import numpy as np
import tensorflow as tf

from asr.decoding.ctc import decode
from asr.model.loss import ctc_loss
from asr.model.network import stacked_length
from asr.text.vocab import Vocabulary


def make_forward(model):
    """A compiled forward pass for (batch, frames, dim) inputs of any shape."""
    signature = [tf.TensorSpec((None, None, model.input_shape[-1]), tf.float32)]
    return tf.function(lambda features: model(features, training=False), input_signature=signature)


def predict_dataset(forward, dataset, vocab: Vocabulary, subsample: int, strategy: str = "greedy",
                    beam_width: int = 1, keep_log_probs: set | None = None):
    """Yield one dict per utterance: id, hypothesis, loss, seconds (forward+decode share), log_probs (if asked)."""
    for batch in dataset:
        start = time.perf_counter()
        log_probs = forward(batch["features"])  # (batch, steps, classes)
        steps = stacked_length(batch["feature_lengths"], subsample)
        losses = ctc_loss(batch["labels"], log_probs, batch["label_lengths"], steps).numpy()
        log_probs, steps = log_probs.numpy(), np.asarray(steps)
        paths = decode(log_probs, steps, strategy, beam_width)
        share = (time.perf_counter() - start) / len(paths)
        for k, utt_id in enumerate(batch["ids"].numpy()):
            utt_id = utt_id.decode()
            yield dict(
                id=utt_id,
                hypothesis=vocab.decode(paths[k]).strip(),  # as `asr transcribe` prints it: same CER both ways
                loss=float(losses[k]),
                seconds=share,
                log_probs=log_probs[k, : steps[k]] if keep_log_probs and utt_id in keep_log_probs else None,
            )
