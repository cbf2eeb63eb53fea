"""Parallel feature extraction for a prepared corpus into shards, with train-split CMVN."""

import multiprocessing
import sys
from functools import partial
from itertools import islice
from pathlib import Path

import pandas as pd
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from asr.audio.io import load_audio
from asr.features.mfcc import FeatureSettings, StatsAccumulator, compute_features
from asr.features.shards import INDEX_COLUMNS, write_shard
from asr.workers import bounded_map, worker_pool


def worker_start_method() -> str:
    """'fork' starts workers in milliseconds, 'spawn' re-imports numpy, scipy and pandas in each (~1 s on 2 cores).

    A forked child holds only the forking thread, so locks held by other native threads stay locked in it forever:
    TensorFlow (loaded by `asr transcribe`, the benchmark's training rows or a test process) runs such thread
    pools, so with it loaded, spawn. The stage itself never imports it. Only Linux: macOS system libraries
    are not fork-safe (Python spawns there by default) and Windows cannot fork.
    """
    return "fork" if sys.platform.startswith("linux") and "tensorflow" not in sys.modules else "spawn"


def _single_threaded_worker() -> None:
    # Each worker does small matrix products per file; OpenBLAS would start one thread per core in every
    # worker, and N workers x N threads on N cores run slower than one worker (measured on 2 cores).
    threadpool_limits(limits=1)


def _features_for_file(path: str, settings: FeatureSettings):
    return compute_features(load_audio(path, settings.sample_rate), settings)


def extract_corpus(manifests: dict[str, pd.DataFrame], prepared_dir, out_dir, settings: FeatureSettings,
                   shard_size: int, workers: int):
    """Compute features for every split; write shards + index.csv into out_dir; return (index, train CMVN).

    Memory stays flat in the corpus size: at most one shard's arrays plus the workers' bounded backlog are held;
    CMVN is running float64 sums; only the per-utterance index rows (id, shard, row, frames) accumulate.
    """
    out_dir = Path(out_dir)
    total = sum(len(m) for m in manifests.values())
    stats = StatsAccumulator(settings.dim)
    index_rows = []
    context = multiprocessing.get_context(worker_start_method())
    workers = max(1, workers)
    with worker_pool(workers, context, _single_threaded_worker, what="feature worker",
                     setting="features.workers") as pool, \
            tqdm(total=total, desc="features", unit="utt", mininterval=1.0) as bar:
        for split, manifest in manifests.items():
            paths = (str(Path(prepared_dir) / p) for p in manifest["path"])
            # input order; a few chunks per worker keep them busy while a shard is written
            results = bounded_map(pool, partial(_features_for_file, settings=settings), paths, window=4 * workers)
            for ids, arrays in _shards(zip(manifest["id"], results), shard_size):
                if split == "train":
                    for features in arrays:
                        stats.add(features)
                index_rows += _flush(out_dir, split, len(index_rows), ids, arrays)
                bar.update(len(ids))
    index = pd.DataFrame(index_rows, columns=INDEX_COLUMNS)
    index.to_csv(out_dir / "index.csv", index=False)
    return index, stats.normaliser()


def _shards(utterances, shard_size: int):
    """(id, features) pairs -> (ids, arrays) groups of shard_size (the last one shorter), read lazily."""
    utterances = iter(utterances)
    while group := list(islice(utterances, shard_size)):
        ids, arrays = zip(*group)
        yield list(ids), list(arrays)


def _flush(out_dir: Path, split: str, first_row: int, ids, arrays):
    shard = f"shards/{split}-{first_row:07d}.npz"
    write_shard(out_dir / shard, ids, arrays)
    return [
        dict(id=utt_id, split=split, shard=shard, row=k, num_frames=len(a))
        for k, (utt_id, a) in enumerate(zip(ids, arrays))
    ]
