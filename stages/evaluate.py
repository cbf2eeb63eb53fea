"""Stage `evaluate`: decode the test (and dev) split with the bundle; CER, WER, loss, RTF, plots."""

from pathlib import Path

import pandas as pd

from stages.entry import rebase_paths, stage_main, sweep_job_dir, write_job_record


def decode_split(bundle, forward, cfg, split: str, posteriorgram_ids=frozenset()):
    """Per-utterance predictions for one split, as a frame joined with its labels."""
    from asr.data import make_dataset, read_labels
    from asr.evaluation import predict_dataset
    from asr.metrics import utterance_cer
    from asr.training import filter_alignable

    labels, _ = filter_alignable(read_labels(Path(cfg.paths.labels) / f"{split}.csv"), bundle.model_settings.subsample)
    dataset = make_dataset(cfg.paths.features, split, labels, bundle.normaliser, 32, False, 0, bundle.features.dim)
    rows = list(predict_dataset(forward, dataset, bundle.vocab, bundle.model_settings.subsample,
                                cfg.decode.strategy, cfg.decode.beam_width, set(posteriorgram_ids)))
    predictions = labels[["id", "speaker", "duration", "text"]].rename(columns={"text": "reference"})
    predictions = predictions.merge(pd.DataFrame(rows), on="id")
    predictions["cer"] = [utterance_cer(r, h) for r, h in zip(predictions.reference, predictions.hypothesis)]
    return predictions


def evaluate(cfg) -> dict:
    """Decode test and dev with the bundle; write metrics, predictions and plots; return the metrics."""
    import numpy as np

    from asr.atomic import atomic_dir, write_csv, write_json
    from asr.bundle import load_bundle
    from asr.ctc import STRATEGIES
    from asr.evaluation import make_forward
    from asr.errors import UserError
    from asr.metrics import character_error_rate, word_error_rate
    from asr.plots import save_posteriorgram

    if cfg.decode.strategy not in STRATEGIES or cfg.decode.beam_width < 1:  # fail before loading anything
        raise UserError(f"decode.strategy must be 'greedy' or 'beam' with decode.beam_width >= 1, got "
                        f"{cfg.decode.strategy!r} / {cfg.decode.beam_width}")
    bundle = load_bundle(cfg.paths.model)
    test_ids = pd.read_csv(Path(cfg.paths.labels) / "test.csv", dtype={"id": str})["id"]
    shown = set(test_ids.iloc[:: max(1, len(test_ids) // max(1, cfg.decode.num_posteriorgrams))]
                [: cfg.decode.num_posteriorgrams])
    forward = make_forward(bundle.model)  # one compiled graph for both splits
    test = decode_split(bundle, forward, cfg, "test", shown)
    dev = decode_split(bundle, forward, cfg, "dev")
    if test.empty:
        raise UserError("no test utterances to evaluate")

    step = bundle.features.win_step * bundle.model_settings.subsample
    finite_loss = test["loss"][np.isfinite(test["loss"])]
    metrics = dict(
        test_cer=round(character_error_rate(test.reference, test.hypothesis), 5),
        test_wer=round(word_error_rate(test.reference, test.hypothesis), 5),
        test_loss=round(float(finite_loss.mean()), 4),
        dev_cer=round(character_error_rate(dev.reference, dev.hypothesis), 5) if len(dev) else None,
        num_utterances=len(test),
        rtf=round(test["seconds"].sum() / test["duration"].sum(), 5),
        decode=cfg.decode.strategy,
    )
    per_speaker = (test.groupby("speaker")
                   .apply(lambda g: character_error_rate(g.reference, g.hypothesis), include_groups=False)
                   .rename("cer").round(5).reset_index().sort_values("cer"))
    out = Path(cfg.paths.eval)
    with atomic_dir(out / "plots") as plots:
        per_speaker.to_csv(plots / "cer_per_speaker.csv", index=False)
        test[["id", "duration", "cer"]].round(4).to_csv(plots / "cer_vs_duration.csv", index=False)
        (plots / "posteriorgrams").mkdir()
        for row in test[test["id"].isin(shown)].itertuples():
            save_posteriorgram(plots / "posteriorgrams" / f"{row.id}.png", row.log_probs, bundle.vocab,
                               row.reference, row.hypothesis, step)
    write_csv(out / "predictions.csv", test[["id", "speaker", "reference", "hypothesis", "cer"]].round({"cer": 5}))
    write_json(out / "metrics.json", metrics)
    print(f"evaluate: test CER {metrics['test_cer']:.4f}, WER {metrics['test_wer']:.4f}, loss {metrics['test_loss']}, "
          f"dev CER {metrics['dev_cer']}, {len(test)} utterances, RTF {metrics['rtf']:.4f} ({cfg.decode.strategy})")
    return metrics


def run(cfg):
    """Evaluate; in a Hydra multirun job, into the job's own directory, returning dev CER."""
    job_dir = sweep_job_dir()
    if job_dir is None:
        evaluate(cfg)
        return None
    metrics = evaluate(rebase_paths(cfg, ("eval",), job_dir))
    write_job_record(job_dir, {k: metrics[k] for k in ("dev_cer", "test_cer", "test_wer", "rtf")})
    return metrics["dev_cer"]


if __name__ == "__main__":
    stage_main(run)
