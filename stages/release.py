"""Stage `release` (base preset only): evaluate the trained base run and write models/base with its provenance.

    python -m stages.release +experiment=base

models/base holds the bundle (what `asr transcribe` loads), provenance.json (written here: params, commit,
input hashes, corpus, hardware, training), metrics.json (per test set and engine), curve.csv and curve.png (CER against
training hours), examples.csv (transcripts beside their references) and samples/ (held-out-engine test
files to try it on). With release.lm, also lm/: paths.lm's word LM and lexicon, with which `asr transcribe`
decodes it by default (a phone model needs them: its lexicon turns phones into words), and every metric is
measured both ways (the lexicon or greedy alone, and with the LM).
"""

import shutil
from pathlib import Path

from stages.entry import stage_main

BUNDLE_FILES = ("model.keras", "vocab.json", "features.json", "cmvn.json", "model.json", "training.json")
METRIC_KEYS = ("test_cer", "test_wer", "num_utterances", "heldout_cer", "heldout_wer", "test_by_engine")
LM_METRIC_KEYS = ("test_cer_lm", "test_wer_lm", "heldout_cer_lm", "heldout_wer_lm")
EXAMPLES_PER_SET = 6


def release(cfg) -> dict:
    import pandas as pd
    from omegaconf import OmegaConf

    from asr.atomic import atomic_dir, write_csv, write_json
    from asr.csvio import read_text_table, spreadsheet_safe
    from asr.errors import UserError
    from asr.evaluation.plots import save_learning_curve
    from asr.evaluation.lm_decode import LEXICON, SHIPPED_WORD_LM, WORD_LM
    from asr.evaluation.report import DecodeSettings, evaluate_bundle
    from asr.evaluation.track import tracked_sets
    from asr.model.checkpoint import read_state
    from asr.release.curve import learning_curve
    from asr.release.provenance import corpus_summary, git_state, hardware, input_hashes, lock_hashes, utc_now

    bundle_dir, heldout, samples_from = Path(cfg.paths.model), cfg.data.heldout_engine, cfg.release.samples
    state = read_state(cfg.paths.checkpoint)
    if state is None or not (bundle_dir / "model.keras").is_file():
        raise UserError(f"{bundle_dir}: no trained run to release (run stages.train with the same config first)")
    lm_dir = released_lm(cfg, bundle_dir)
    # what `asr transcribe` gives by default: with the shipped LM where there is one
    default_decoding = "hypothesis_lm" if lm_dir else "hypothesis"
    test_sets = tracked_sets(cfg.release.test_sets)
    settings = DecodeSettings(**dict(cfg.decode, strategy="greedy", beam_width=1, num_posteriorgrams=0))
    metrics, examples, predictions = {}, [], {}
    for test_set in test_sets:
        eval_dir = Path(cfg.paths.eval) / test_set.name
        result = evaluate_bundle(bundle_dir, test_set.features, test_set.labels, eval_dir, settings, heldout, lm_dir)
        metrics[test_set.name] = {key: result[key] for key in METRIC_KEYS + (LM_METRIC_KEYS if lm_dir else ())}
        metrics[test_set.name]["data"] = dict(features=test_set.features, labels=test_set.labels, split=test_set.split)
        predictions[test_set.name] = read_text_table(eval_dir / "predictions.csv")
        picked = predictions[test_set.name].groupby("engine").head(1).head(EXAMPLES_PER_SET)
        shown = ["id", "engine", "reference", "hypothesis", "cer"] + (["hypothesis_lm", "cer_lm"] if lm_dir else [])
        examples.append(picked[shown].assign(test_set=test_set.name))
        with_lm = (f"; with the LM CER {result['test_cer_lm']:.4f}, WER {result['test_wer_lm']:.4f}, "
                   f"{heldout} CER {result['heldout_cer_lm']}") if lm_dir else ""
        print(f"release: {test_set.name}: CER {result['test_cer']:.4f}, WER {result['test_wer']:.4f}; "
              f"{heldout} (held out) CER {result['heldout_cer']}{with_lm}")

    columns, legend = {"dev_cer": "dev/cer"}, {"dev_cer": "dev (this run's)"}
    for tracked in tracked_sets(cfg.train.track):
        columns[f"{tracked.name}_cer"] = f"{tracked.name}/cer"
        columns[f"{tracked.name}_cer_{heldout}"] = f"{tracked.name}/cer_{heldout}"
        legend.update({f"{tracked.name}_cer": tracked.name, f"{tracked.name}_cer_{heldout}": f"{tracked.name}: {heldout} (held out)"})
    curve = learning_curve(cfg.paths.live, columns)

    training = dict(epochs=state["epoch"], best_epoch=state["best_epoch"], best_dev_cer=state["best_cer"],
                    updates=state.get("updates"), hours=round(state["seconds"] / 3600, 3),
                    stopped=state["stopped"] or "epochs done")
    provenance = dict(
        written=utc_now(), written_by="stages/release.py", code=git_state(),
        command="python -m stages.{prepare,features,labels,train,release} +experiment=base",
        params=OmegaConf.to_container(cfg, resolve=True),
        inputs=input_hashes(cfg.paths.labels, cfg.paths.features),
        test_set_locks=lock_hashes("dvc.lock", {p for s in test_sets for p in (s.features, s.labels)}),
        corpus=corpus_summary(cfg.paths.labels), training=training, hardware=hardware(),
        metrics={name: {k: v for k, v in m.items() if k != "test_by_engine"} for name, m in metrics.items()},
        # the same figure from the audio files of the samples' test set, without the pipeline's feature shards
        # --output: the predictions' default place, beside the manifest, is inside a DVC output
        reproduce=dict(command=f"asr evaluate {Path(samples_from.prepared) / 'test.csv'} --model {cfg.release.dir} "
                               f"--output outputs/{Path(cfg.release.dir).name}.predictions.csv",
                       test_set=samples_from.test_set, decoding="with the LM" if lm_dir else "greedy",
                       test_cer=metrics[samples_from.test_set]["test_cer_lm" if lm_dir else "test_cer"]),
    )
    samples = _samples(samples_from, predictions, default_decoding)
    with atomic_dir(cfg.release.dir) as out:
        for name in BUNDLE_FILES:
            shutil.copy2(bundle_dir / name, out / name)
        if lm_dir:  # the ARPA gzipped (KenLM reads it so): 12.5 -> 3.7 MB for the base LM
            (out / "lm").mkdir()
            gzip_file(lm_dir / WORD_LM, out / "lm" / SHIPPED_WORD_LM)
            shutil.copy2(lm_dir / LEXICON, out / "lm" / LEXICON)
        write_json(out / "provenance.json", provenance)
        write_json(out / "metrics.json", metrics)
        write_csv(out / "curve.csv", curve)
        save_learning_curve(out / "curve.png", curve, legend)
        write_csv(out / "examples.csv", spreadsheet_safe(pd.concat(examples, ignore_index=True)))
        (out / "samples").mkdir()
        for row in samples:
            shutil.copy2(row["source"], out / "samples" / row["path"])
        # path, text: what `asr evaluate models/base/samples/samples.csv` reads; hypothesis, cer: what it must give
        write_csv(out / "samples" / "samples.csv", spreadsheet_safe(pd.DataFrame(samples).drop(columns="source")))
    print(f"release: wrote {cfg.release.dir} (epoch {state['best_epoch']} of {state['epoch']}, "
          f"{training['hours']} h of training)")
    return metrics


def gzip_file(source: Path, target: Path) -> None:
    """`source` gzipped into `target`, with no time stamp in the header: the same LM gives the same bytes."""
    import gzip

    with open(source, "rb") as raw, open(target, "wb") as out, gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as packed:
        shutil.copyfileobj(raw, packed, 1 << 20)


def released_lm(cfg, bundle_dir: Path) -> Path | None:
    """paths.lm where release.lm ships it (its files checked), else None; a phone model cannot go without it."""
    from asr.errors import UserError
    from asr.evaluation.lm_decode import LEXICON, WORD_LM
    from asr.text.vocab import Vocabulary

    if not cfg.release.get("lm"):
        if Vocabulary.load(bundle_dir / "vocab.json").unit == "phone":
            raise UserError("release.lm: false, but this model predicts phones (labels.unit=phone): it needs its "
                            "lexicon and LM to give words; set release.lm: true")
        return None
    lm_dir = Path(cfg.paths.lm)
    if missing := [name for name in (WORD_LM, LEXICON) if not (lm_dir / name).is_file()]:
        raise UserError(f"release.lm: {lm_dir} lacks {', '.join(missing)} (run stages.lm with the same config)")
    return lm_dir


def _samples(samples, predictions: dict, decoding: str) -> list[dict]:
    """The shortest few held-out-engine utterances of one released test set, with what the model made of them
    (`decoding`: the predictions' column that `asr transcribe` gives by default)."""
    from asr.csvio import read_text_table

    prepared = Path(samples.prepared)
    manifest = read_text_table(prepared / "test.csv", floats=["duration"])
    chosen = manifest[manifest.engine == samples.engine].sort_values(["duration", "id"]).head(samples.count)
    decoded = predictions[samples.test_set].set_index("id")
    return [dict(path=Path(row.path).name, text=row.text, engine=row.engine, speaker=row.speaker,
                 hypothesis=decoded.loc[row.id, decoding],
                 cer=decoded.loc[row.id, "cer_lm" if decoding == "hypothesis_lm" else "cer"],
                 source=prepared / row.path) for row in chosen.itertuples()]


def run(cfg):
    release(cfg)


if __name__ == "__main__":
    stage_main(run)
