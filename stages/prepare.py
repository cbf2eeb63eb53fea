"""Stage `prepare`: corpus -> data/prepared/{train,dev,test}.csv + 16-bit mono WAVs + rejected.csv."""

from pathlib import Path

import pandas as pd

from asr.atomic import atomic_dir, write_csv
from asr.corpus.common import MANIFEST_COLUMNS, SPLITS, convert_utterances, first_reasons, rejected_frame
from asr.corpus.readers import read_corpus
from asr.csvio import spreadsheet_safe
from asr.corpus.splits import assign_splits
from asr.corpus.synthetic import SyntheticSettings, synthesise_corpus
from asr.errors import UserError
from stages.entry import rebase_paths, stage_main, sweep_job_dir


def build_corpus(data, out_dir: Path):
    """Synthesise the default corpus or convert a real one; returns (manifest rows, rejections)."""
    if data.corpus == "synthetic":
        return synthesise_corpus(out_dir, SyntheticSettings.from_config(data))
    scan = read_corpus(data.corpus, Path(data.root))
    utterances = assign_splits(scan.utterances, data.dev_fraction, data.test_fraction, data.seed)
    if not data.max_seconds > 0:
        raise UserError(f"data.max_seconds must be > 0, got {data.max_seconds!r}")
    rows, rejected = convert_utterances(utterances, out_dir, data.sample_rate, data.max_seconds)
    return rows, scan.rejected + rejected


def kept_rejected_path(out_dir: Path) -> Path:
    """Where a failed run keeps its rejected list: beside out_dir, which the failure rolls back."""
    return out_dir.with_name(f"{out_dir.name}.rejected.csv")


def fail_keeping_reasons(rejected, out_dir: Path):
    """Stop with the first reasons in the message and every one kept outside the rolled-back output."""
    message = f"no usable training utterances ({len(rejected)} rejected)"
    if not rejected:  # every utterance kept, none in train: the split settings, not the input, are at fault
        raise UserError(message)
    kept = kept_rejected_path(out_dir)
    write_csv(kept, spreadsheet_safe(rejected_frame(rejected)))
    raise UserError(f"{message}; first: {first_reasons(rejected)}; all reasons in {kept}")


def run(cfg) -> None:
    job_dir = sweep_job_dir()
    if job_dir is not None:  # a Hydra multirun job writes into its own directory, not the workspace
        cfg = rebase_paths(cfg, ("prepared",), job_dir)
    out_dir = Path(cfg.paths.prepared)
    with atomic_dir(out_dir) as tmp:
        rows, rejected = build_corpus(cfg.data, tmp)
        manifest = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
        if (manifest["split"] == "train").sum() == 0:
            fail_keeping_reasons(rejected, out_dir)
        for split in SPLITS:
            manifest[manifest["split"] == split].to_csv(tmp / f"{split}.csv", index=False)
        spreadsheet_safe(rejected_frame(rejected)).to_csv(tmp / "rejected.csv", index=False)
    kept_rejected_path(out_dir).unlink(missing_ok=True)  # a failed run's list would now contradict rejected.csv
    counts = manifest["split"].value_counts()
    hours = manifest["duration"].sum() / 3600
    print(f"prepare: kept {len(manifest)} utterances ({hours:.2f} h; "
          + ", ".join(f"{s} {counts.get(s, 0)}" for s in SPLITS)
          + f"), rejected {len(rejected)} (see {out_dir / 'rejected.csv'})")


if __name__ == "__main__":
    stage_main(run)
