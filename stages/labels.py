"""Stage `labels`: transcripts -> normalised, encoded CTC labels per split, vocab.json, report."""

from collections import Counter
from pathlib import Path

import pandas as pd

from asr.atomic import atomic_dir, write_json
from asr.corpus.common import SPLITS
from asr.csvio import read_text_table, spreadsheet_safe
from asr.errors import UserError
from asr.text.labels import DROPPED_COLUMNS, OOV_POLICIES, label_split
from asr.text.normalise import apply_vocabulary, normalise_text
from asr.features.shards import read_index
from asr.text.vocab import UNITS, Vocabulary
from stages.entry import rebase_paths, stage_main, sweep_job_dir


def transcript_words(manifests, characters: str) -> set[str]:
    """Every word of the manifests' transcripts as the labels will hold them (normalised, in `characters`)."""
    words = set()
    for manifest in manifests:
        for text in manifest["text"]:
            try:
                normalised, _unknown = apply_vocabulary(normalise_text(str(text)), characters, "drop_char")
            except UserError:
                continue  # label_split drops it with its reason
            words.update((normalised or "").split())
    return words


def run(cfg) -> None:
    job_dir = sweep_job_dir()
    if job_dir is not None:  # a Hydra multirun job writes into its own directory, not the workspace
        cfg = rebase_paths(cfg, ("labels",), job_dir)
    if cfg.labels.oov not in OOV_POLICIES:
        raise UserError(f"labels.oov must be one of {', '.join(OOV_POLICIES)}, got {cfg.labels.oov!r}")
    if cfg.labels.unit not in UNITS:
        raise UserError(f"labels.unit must be one of {', '.join(UNITS)}, got {cfg.labels.unit!r}")
    characters = Vocabulary.from_characters(cfg.labels.characters).characters
    manifests = {split: read_text_table(Path(cfg.paths.prepared) / f"{split}.csv") for split in SPLITS}
    pronouncer = None
    if cfg.labels.unit == "phone":
        from asr.corpus.pronounce import Pronouncer

        pronouncer = Pronouncer()
        pronouncer.spell_words(transcript_words(manifests.values(), characters))  # eSpeak NG loaded once
    vocab = Vocabulary.phones() if pronouncer else Vocabulary.from_characters(characters)
    index = read_index(cfg.paths.features)
    num_frames = dict(zip(index["id"], index["num_frames"]))
    out_dir = Path(cfg.paths.labels)
    dropped, oov, kept = [], Counter(), {}
    with atomic_dir(out_dir) as tmp:
        for split in SPLITS:
            labels, split_dropped, split_oov = label_split(manifests[split], num_frames, vocab, cfg.labels.oov,
                                                           characters, pronouncer.spell_text if pronouncer else None)
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
            "unit": vocab.unit,
            **({"words_spelled_by_espeak": sorted(pronouncer.from_espeak)} if pronouncer else {}),
        })
    print(f"labels: kept {sum(kept.values())} ({', '.join(f'{s} {n}' for s, n in kept.items())}), "
          f"dropped {len(dropped)}, {sum(oov.values())} out-of-vocabulary characters, "
          f"vocabulary {vocab.size} {vocab.unit} classes (blank {vocab.blank_index}) -> {out_dir}"
          + (f"; {len(pronouncer.from_espeak)} words not in CMUdict spelled by eSpeak NG" if pronouncer else ""))


if __name__ == "__main__":
    stage_main(run)
