"""Stage `features`: prepared WAVs -> MFCC+delta+delta-delta shards, index.csv, CMVN stats, settings."""

from pathlib import Path

from asr.atomic import atomic_dir
from asr.corpus.common import SPLITS
from asr.csvio import read_text_table
from asr.features.extract import extract_corpus
from asr.features.mfcc import FeatureSettings
from stages.entry import rebase_paths, stage_main, sweep_job_dir


def run(cfg) -> None:
    job_dir = sweep_job_dir()
    if job_dir is not None:  # a Hydra multirun job writes into its own directory, not the workspace
        cfg = rebase_paths(cfg, ("features",), job_dir)
    f = cfg.features
    settings = FeatureSettings(
        sample_rate=cfg.data.sample_rate, num_cep=f.num_cep, num_filters=f.num_filters,
        win_length=f.win_length, win_step=f.win_step, preemph=f.preemph, delta_window=f.delta_window,
        cepstral_mean=f.cepstral_mean,
    )
    settings.validate()
    prepared = Path(cfg.paths.prepared)
    manifests = {split: read_text_table(prepared / f"{split}.csv") for split in SPLITS}
    out_dir = Path(cfg.paths.features)
    with atomic_dir(out_dir) as tmp:
        index, normaliser = extract_corpus(manifests, prepared, tmp, settings, f.shard_size, f.workers)
        normaliser.save(tmp / "cmvn.json")
        settings.save(tmp / "settings.json")
    hours = index["num_frames"].sum() * settings.win_step / 3600
    print(f"features: {len(index)} utterances, {index['num_frames'].sum()} frames ({hours:.2f} h) "
          f"x {settings.dim} dims in {index['shard'].nunique()} shards -> {out_dir}")


if __name__ == "__main__":
    stage_main(run)
