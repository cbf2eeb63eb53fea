"""Evaluate a bundle on the test and dev splits: metrics.json, predictions.csv and the plots for `dvc plots`."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from asr.atomic import atomic_dir, write_csv, write_json
from asr.bundle import load_bundle
from asr.csvio import read_text_table, spreadsheet_safe
from asr.decoding.ctc import STRATEGIES
from asr.decoding.lexicon_beam import LexiconBeamSettings
from asr.errors import UserError
from asr.evaluation.lm_decode import load_lm_decoder, load_word_decoder
from asr.evaluation.plots import save_posteriorgram
from asr.evaluation.split import decode_split
from asr.metrics import character_error_rate, utterance_cer, word_error_rate
from asr.model.inference import make_forward


@dataclass
class DecodeSettings:
    strategy: str = "greedy"
    beam_width: int = 1
    num_posteriorgrams: int = 3
    lm_beam: int = 400
    lm_weight: float = 2.0
    word_score: float = 0.0
    lm_beam_threshold: float = 10.0
    lm_lexicon_free: bool = False

    def lm_settings(self) -> LexiconBeamSettings:
        return LexiconBeamSettings(beam=self.lm_beam, lm_weight=self.lm_weight, word_score=self.word_score,
                                   beam_threshold=self.lm_beam_threshold)

    def validate(self) -> None:
        if self.strategy not in STRATEGIES or self.beam_width < 1:
            raise UserError(f"decode.strategy must be 'greedy' or 'beam' with decode.beam_width >= 1, got "
                            f"{self.strategy!r} / {self.beam_width}")


def cer_by(predictions: pd.DataFrame, column: str) -> pd.DataFrame:
    """Corpus-level CER of each group in `column`, best first: columns <column>, cer."""
    return (predictions.groupby(column)
            .apply(lambda g: character_error_rate(g.reference, g.hypothesis), include_groups=False)
            .rename("cer").round(5).reset_index().sort_values("cer"))


def spread_ids(ids: pd.Series, count: int) -> set:
    """`count` ids spread evenly over `ids` (the utterances whose posteriorgrams are drawn)."""
    return set(ids.iloc[:: max(1, len(ids) // max(1, count))][:count])


def scores(frame: pd.DataFrame, hypothesis: str = "hypothesis") -> dict:
    """Corpus CER and WER of `frame`'s `hypothesis` column against its references."""
    return dict(cer=round(character_error_rate(frame.reference, frame[hypothesis]), 5),
                wer=round(word_error_rate(frame.reference, frame[hypothesis]), 5))


def per_engine(test: pd.DataFrame, heldout_engine: str | None) -> dict:
    """CER and WER (and with the LM, where decoded) of each engine's test utterances and of the held-out engine's."""
    with_lm = "hypothesis_lm" in test
    engines = {}
    for engine, group in (test.groupby("engine") if "engine" in test else []):
        engines[engine] = dict(**scores(group), utterances=len(group))
        if with_lm:
            engines[engine].update({f"{k}_lm": v for k, v in scores(group, "hypothesis_lm").items()})
    heldout = engines.get(heldout_engine) if heldout_engine else None
    result = dict(test_by_engine=engines, heldout_engine=heldout_engine,
                  heldout_cer=heldout["cer"] if heldout else None, heldout_wer=heldout["wer"] if heldout else None)
    if with_lm:
        result.update(heldout_cer_lm=heldout["cer_lm"] if heldout else None,
                      heldout_wer_lm=heldout["wer_lm"] if heldout else None)
    return result


def lm_metrics(test: pd.DataFrame, dev: pd.DataFrame) -> dict:
    """The LM decoder's metrics, named beside the plain decoder's (test_cer -> test_cer_lm)."""
    test_scores = scores(test, "hypothesis_lm")
    dev_scores = scores(dev, "hypothesis_lm") if len(dev) else dict(cer=None, wer=None)
    return dict(test_cer_lm=test_scores["cer"], test_wer_lm=test_scores["wer"],
                dev_cer_lm=dev_scores["cer"], dev_wer_lm=dev_scores["wer"],
                rtf_lm=round(test["seconds_lm"].sum() / test["duration"].astype(float).sum(), 5))


def report_problems(predictions: pd.DataFrame, split: str, log) -> int:
    """One line per utterance scored despite a problem (too short to align); returns how many."""
    flagged = predictions[predictions["problem"] != ""]
    for row in flagged.itertuples():
        log(f"evaluate: {split} utterance {row.id}: {row.problem} (scored; its loss is left out of {split}_loss)")
    return len(flagged)


def evaluate_bundle(model_dir, features_dir, labels_dir, eval_dir, settings: DecodeSettings,
                    heldout_engine: str | None = None, lm_dir=None, log=print) -> dict:
    """Decode test and dev with the bundle in `model_dir`; write metrics, predictions and plots under `eval_dir`.

    `heldout_engine` names the synthesiser kept out of training: its test CER is reported on its own.
    With `lm_dir` (the `lm` stage's output) every utterance is also decoded with the LM, side by side.
    Every labelled utterance is scored; <split>_unalignable counts those whose label cannot fit their
    stacked frames (each named through `log`): their CTC loss is +inf, left out of test_loss.
    """
    settings.validate()  # fail before loading anything
    bundle = load_bundle(model_dir)
    lm_decoder = word_decoder = None
    if bundle.vocab.unit == "phone":  # its plain decoding too must end in words: the lexicon, no LM
        if lm_dir is None or settings.lm_lexicon_free:
            raise UserError(f"{model_dir} predicts phones (labels.unit=phone): evaluating it needs the `lm` stage's "
                            "lexicon, with decode.lm_lexicon_free false")
        word_decoder = load_word_decoder(lm_dir, bundle.vocab, settings.lm_settings())
    if lm_dir is not None:
        lm_decoder = load_lm_decoder(lm_dir, bundle.vocab, settings.lm_settings(), settings.lm_lexicon_free)
    test_ids = read_text_table(Path(labels_dir) / "test.csv")["id"]
    shown = spread_ids(test_ids, settings.num_posteriorgrams)
    forward = make_forward(bundle.model)  # one compiled graph for both splits

    def decode(split, posteriorgram_ids=frozenset()):
        return decode_split(bundle, forward, features_dir, labels_dir, split, settings.strategy, settings.beam_width,
                            posteriorgram_ids, lm_decoder=lm_decoder, word_decoder=word_decoder)

    test, dev = decode("test", shown), decode("dev")
    if test.empty:
        raise UserError(f"no test utterances to evaluate in {Path(labels_dir) / 'test.csv'}")
    finite_loss = test["loss"][np.isfinite(test["loss"])]
    test_scores = scores(test)
    metrics = dict(
        test_cer=test_scores["cer"],
        test_wer=test_scores["wer"],
        test_loss=round(float(finite_loss.mean()), 4),
        dev_cer=scores(dev)["cer"] if len(dev) else None,
        num_utterances=len(test),
        test_unalignable=report_problems(test, "test", log),
        dev_unalignable=report_problems(dev, "dev", log) if len(dev) else 0,
        rtf=round(test["seconds"].sum() / test["duration"].astype(float).sum(), 5),
        decode=settings.strategy if word_decoder is None else "lexicon, no LM (phone model)",
        unit=bundle.vocab.unit,
        **(lm_metrics(test, dev) if lm_decoder is not None else {}),
        **per_engine(test, heldout_engine),
    )
    step_seconds = bundle.features.win_step * bundle.model_settings.subsample
    out = Path(eval_dir)
    with atomic_dir(out / "plots") as plots:
        cer_by(test, "speaker").to_csv(plots / "cer_per_speaker.csv", index=False)
        if "engine" in test:
            cer_by(test, "engine").to_csv(plots / "cer_per_engine.csv", index=False)
        test[["id", "duration", "cer"]].round(4).to_csv(plots / "cer_vs_duration.csv", index=False)
        (plots / "posteriorgrams").mkdir()
        for row in test[test["id"].isin(shown)].itertuples():
            save_posteriorgram(plots / "posteriorgrams" / f"{row.id}.png", row.log_probs, bundle.vocab,
                               row.reference, row.hypothesis, step_seconds)
    if lm_decoder is not None:
        test["cer_lm"] = [utterance_cer(r, h) for r, h in zip(test.reference, test.hypothesis_lm)]
    columns = [c for c in ("id", "speaker", "engine", "reference", "hypothesis", "cer", "hypothesis_lm", "cer_lm",
                           "problem")
               if c in test]
    write_csv(out / "predictions.csv", spreadsheet_safe(test[columns].round({"cer": 5, "cer_lm": 5})))
    write_json(out / "metrics.json", metrics)
    return metrics
