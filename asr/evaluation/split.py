"""Decode one split of the feature shards with a bundle: reference, hypothesis and CER per utterance."""

from pathlib import Path

import pandas as pd

from asr.bundle import Bundle
from asr.errors import UserError
from asr.evaluation.lm_decode import with_lexicon_words, with_lm_hypotheses
from asr.metrics import utterance_cer
from asr.model.data import make_dataset, read_labels
from asr.model.inference import predict_dataset
from asr.text.labels import filter_alignable

# Columns of the labels CSV carried into the predictions, when the corpus has them.
DESCRIPTIVE_COLUMNS = ("id", "speaker", "engine", "duration", "text")


def missing_features_error(predictions: pd.DataFrame, labels: pd.DataFrame, features_dir, split: str) -> UserError:
    """Labelled utterances the features lack: the two stages' outputs are out of step, not an input to skip."""
    missing = sorted(set(labels["id"]) - set(predictions["id"]))
    return UserError(f"{len(missing)} {split} utterance(s) labelled but not in {features_dir} "
                     f"(first: {', '.join(missing[:3])}); rerun the features and labels stages")


def decode_split(bundle: Bundle, forward, features_dir, labels_dir, split: str, strategy: str, beam_width: int,
                 posteriorgram_ids=frozenset(), batch_size: int = 32, lm_decoder=None,
                 word_decoder=None) -> pd.DataFrame:
    """Per-utterance predictions for EVERY labelled utterance of `split`: the labels' descriptive columns +
    hypothesis, loss, seconds, cer, problem (+ hypothesis_lm, seconds_lm with `lm_decoder`).

    An utterance too short for its label once frames are stacked is decoded and scored like any other
    (leaving it out would flatter CER); its loss is +inf and `problem` says why ("" for the others).
    Utterances stream through the network and the LM search one batch at a time; log_probs (steps, classes)
    are kept only for `posteriorgram_ids`, so memory grows with the split by a few numbers per utterance.
    `word_decoder` (a phone model's, asr.evaluation.lm_decode.load_word_decoder) turns each hypothesis's phones
    into words before it is scored.
    """
    labels = read_labels(Path(labels_dir) / f"{split}.csv")
    problems = dict(filter_alignable(labels, bundle.model_settings.subsample)[1])
    shown = set(posteriorgram_ids)
    dataset = make_dataset(features_dir, split, labels, bundle.normaliser, batch_size, False, 0, bundle.features.dim)
    rows = predict_dataset(forward, dataset, bundle.vocab, bundle.model_settings.subsample, strategy, beam_width,
                           set(labels["id"]) if lm_decoder or word_decoder else shown)  # the searches read them all
    columns = ["id", "hypothesis", "loss", "seconds", "log_probs"]
    if lm_decoder is not None:
        rows = with_lm_hypotheses(rows, lm_decoder)
        columns += ["hypothesis_lm", "seconds_lm"]
    if word_decoder is not None:  # after the LM search, so seconds_lm holds the forward share and that search only
        rows = with_lexicon_words(rows, word_decoder)
    rows = [dict(row, log_probs=row["log_probs"] if row["id"] in shown else None) for row in rows]
    described = [c for c in DESCRIPTIVE_COLUMNS if c in labels.columns]
    predictions = labels[described].rename(columns={"text": "reference"})
    predictions = predictions.merge(pd.DataFrame(rows, columns=columns), on="id")
    if len(predictions) < len(labels):
        raise missing_features_error(predictions, labels, features_dir, split)
    predictions["cer"] = [utterance_cer(r, h) for r, h in zip(predictions.reference, predictions.hypothesis)]
    predictions["problem"] = [problems.get(utt_id, "") for utt_id in predictions["id"]]
    return predictions
