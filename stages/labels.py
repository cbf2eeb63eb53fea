"""Stage `labels`: transcripts -> normalised, encoded CTC labels per split, vocab.json, report."""

from collections import Counter
from pathlib import Path

import pandas as pd

from asr.atomic import atomic_dir, write_json
from asr.corpus.common import SPLITS
from asr.csvio import read_text_table, spreadsheet_safe
from asr.errors import UserError
from asr.text.labels import DROPPED_COLUMNS, OOV_POLICIES, label_split
from asr.features.shards import read_index
from asr.text.vocab import Vocabulary
from stages.entry import rebase_paths, stage_main, sweep_job_dir


def run(cfg) -> None:
    job_dir = sweep_job_dir()
    if job_dir is not None:  # a Hydra multirun job writes into its own directory, not the workspace
        cfg = rebase_paths(cfg, ("labels",), job_dir)
    if cfg.labels.oov not in OOV_POLICIES:
        raise UserError(f"labels.oov must be one of {', '.join(OOV_POLICIES)}, got {cfg.labels.oov!r}")
    vocab = Vocabulary.from_characters(cfg.labels.characters)
    index = read_index(cfg.paths.features)
    num_frames = dict(zip(index["id"], index["num_frames"]))
    out_dir = Path(cfg.paths.labels)
    dropped, oov, kept = [], Counter(), {}
    with atomic_dir(out_dir) as tmp:
        for split in SPLITS:
            manifest = read_text_table(Path(cfg.paths.prepared) / f"{split}.csv")
            labels, split_dropped, split_oov = label_split(manifest, num_frames, vocab, cfg.labels.oov)
            labels.to_csv(tmp / f"{split}.csv", index=False)
            dropped += split_dropped
            oov += split_oov
            kept[split] = len(labels)
        if kept["train"] == 0:
            raise UserError("no training utterance has a usable label; see the dropped reasons")
        vocab.save(tmp / "vocab.json")
        spreadsheet_safe(pd.DataFrame(dropped, columns=DROPPED_COLUMNS)).to_csv(tmp / "dropped.csv", index=False)
        write_json(tmp / "report.json", {
            "kept": kept,
            "dropped": len(dropped),
            "oov_policy": cfg.labels.oov,
            "oov_characters": dict(oov.most_common()),
        })
    print(f"labels: kept {sum(kept.values())} ({', '.join(f'{s} {n}' for s, n in kept.items())}), "
          f"dropped {len(dropped)}, {sum(oov.values())} out-of-vocabulary characters, "
          f"vocabulary {vocab.size} classes (blank {vocab.blank_index}) -> {out_dir}")


if __name__ == "__main__":
    stage_main(run)
