"""Decode one split of the feature shards with a bundle: reference, hypothesis and CER per utterance."""

from pathlib import Path

import pandas as pd

from asr.bundle import Bundle
from asr.metrics import utterance_cer
from asr.model.data import make_dataset, read_labels
from asr.model.inference import predict_dataset
from asr.text.labels import filter_alignable

# Columns of the labels CSV carried into the predictions, when the corpus has them.
DESCRIPTIVE_COLUMNS = ("id", "speaker", "engine", "duration", "text")


def decode_split(bundle: Bundle, forward, features_dir, labels_dir, split: str, strategy: str, beam_width: int,
                 posteriorgram_ids=frozenset(), batch_size: int = 32, keep_all_log_probs: bool = False) -> pd.DataFrame:
    """Per-utterance predictions for `split`: the labels' descriptive columns + hypothesis, loss, seconds, cer.

    log_probs are kept for `posteriorgram_ids`, or for every utterance with `keep_all_log_probs` (LM search).
    """
    labels, _ = filter_alignable(read_labels(Path(labels_dir) / f"{split}.csv"), bundle.model_settings.subsample)
    keep = set(labels["id"]) if keep_all_log_probs else set(posteriorgram_ids)
    dataset = make_dataset(features_dir, split, labels, bundle.normaliser, batch_size, False, 0, bundle.features.dim)
    rows = list(predict_dataset(forward, dataset, bundle.vocab, bundle.model_settings.subsample,
                                strategy, beam_width, keep))
    columns = [c for c in DESCRIPTIVE_COLUMNS if c in labels.columns]
    predictions = labels[columns].rename(columns={"text": "reference"})
    predictions = predictions.merge(pd.DataFrame(rows, columns=["id", "hypothesis", "loss", "seconds", "log_probs"]),
                                    on="id")
    predictions["cer"] = [utterance_cer(r, h) for r, h in zip(predictions.reference, predictions.hypothesis)]
    return predictions
