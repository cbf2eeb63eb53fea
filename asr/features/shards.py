"""Feature shards: many utterances per .npz plus a CSV index, so training can stream them."""

from pathlib import Path

import numpy as np
import pandas as pd

from asr.atomic import atomic_path
from asr.csvio import read_text_table

INDEX_COLUMNS = ["id", "split", "shard", "row", "num_frames"]


def write_shard(path, ids: list[str], arrays: list[np.ndarray]) -> None:
    """Store utterances as one (total_frames, dim) matrix with offsets (n + 1,) into it."""
    offsets = np.cumsum([0] + [len(a) for a in arrays]).astype(np.int64)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, features=np.concatenate(arrays).astype(np.float32), offsets=offsets, ids=np.asarray(ids))


def read_shard(path) -> dict[str, np.ndarray]:
    """Shard -> {utterance id: (frames, dim) float32}."""
    with np.load(path) as data:
        features, offsets, ids = data["features"], data["offsets"], data["ids"]
    return {str(i): features[offsets[k] : offsets[k + 1]] for k, i in enumerate(ids)}


def read_index(features_dir) -> pd.DataFrame:
    """index.csv (INDEX_COLUMNS): ids as written (an utterance may be called "null"), row and num_frames as numbers."""
    return read_text_table(Path(features_dir) / "index.csv", integers=["row", "num_frames"])


def iter_split(features_dir, split: str, ids=None):
    """Yield (id, features) for a split, one shard in memory at a time, in index order."""
    index = read_index(features_dir)
    index = index[index["split"] == split]
    wanted = None if ids is None else set(ids)
    for shard, rows in index.groupby("shard", sort=False):
        utterances = read_shard(Path(features_dir) / shard)
        for utt_id in rows["id"]:
            if wanted is None or utt_id in wanted:
                yield utt_id, utterances[utt_id]
