"""Evaluate a bundle on the test and dev splits: metrics.json, predictions.csv and the plots for `dvc plots`."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from asr.atomic import atomic_dir, write_csv, write_json
from asr.bundle import load_bundle
from asr.decoding.ctc import STRATEGIES
from asr.errors import UserError
from asr.evaluation.plots import save_posteriorgram
from asr.evaluation.split import decode_split
from asr.metrics import character_error_rate, word_error_rate
from asr.model.inference import make_forward


@dataclass
class DecodeSettings:
    strategy: str = "greedy"
    beam_width: int = 1
    num_posteriorgrams: int = 3

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


def per_engine(test: pd.DataFrame, heldout_engine: str | None) -> dict:
    """CER and WER of each engine's test utterances, and of the held-out engine's (None without one)."""
    engines = {engine: dict(cer=round(character_error_rate(g.reference, g.hypothesis), 5),
                            wer=round(word_error_rate(g.reference, g.hypothesis), 5), utterances=len(g))
               for engine, g in test.groupby("engine")} if "engine" in test else {}
    heldout = engines.get(heldout_engine) if heldout_engine else None
    return dict(test_by_engine=engines,
                heldout_engine=heldout_engine,
                heldout_cer=heldout["cer"] if heldout else None,
                heldout_wer=heldout["wer"] if heldout else None)


def evaluate_bundle(model_dir, features_dir, labels_dir, eval_dir, settings: DecodeSettings,
                    heldout_engine: str | None = None) -> dict:
    """Decode test and dev with the bundle in `model_dir`; write metrics, predictions and plots under `eval_dir`.

    `heldout_engine` names the synthesiser kept out of training: its test CER is reported on its own.
    """
    settings.validate()  # fail before loading anything
    bundle = load_bundle(model_dir)
    test_ids = pd.read_csv(Path(labels_dir) / "test.csv", dtype=str, keep_default_na=False)["id"]
    shown = spread_ids(test_ids, settings.num_posteriorgrams)
    forward = make_forward(bundle.model)  # one compiled graph for both splits

    def decode(split, posteriorgram_ids=frozenset()):
        return decode_split(bundle, forward, features_dir, labels_dir, split, settings.strategy,
                            settings.beam_width, posteriorgram_ids)

    test, dev = decode("test", shown), decode("dev")
    if test.empty:
        raise UserError(f"no test utterances to evaluate in {Path(labels_dir) / 'test.csv'}")
    finite_loss = test["loss"][np.isfinite(test["loss"])]
    metrics = dict(
        test_cer=round(character_error_rate(test.reference, test.hypothesis), 5),
        test_wer=round(word_error_rate(test.reference, test.hypothesis), 5),
        test_loss=round(float(finite_loss.mean()), 4),
        dev_cer=round(character_error_rate(dev.reference, dev.hypothesis), 5) if len(dev) else None,
        num_utterances=len(test),
        rtf=round(test["seconds"].sum() / test["duration"].astype(float).sum(), 5),
        decode=settings.strategy,
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
    columns = [c for c in ("id", "speaker", "engine", "reference", "hypothesis", "cer") if c in test]
    write_csv(out / "predictions.csv", test[columns].round({"cer": 5}))
    write_json(out / "metrics.json", metrics)
    return metrics
