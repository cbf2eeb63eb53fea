"""Memory that stays flat in the corpus size: features and evaluation stream, never holding a whole split.

Counts and tracemalloc peaks, never timings: python -m bench --memory measures the stages' real peak RSS.
"""

import threading
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

from asr.features.extract import extract_corpus
from asr.features.mfcc import FeatureSettings
from asr.workers import bounded_map
from tests.conftest import compose, run_stage
from tests.corpus_fixtures import tone, write_audio


def test_bounded_map_keeps_input_order_and_runs_only_a_window_ahead_of_its_reader():
    started = []
    lock = threading.Lock()

    def square(x):
        with lock:
            started.append(x)
        return x * x

    with ThreadPoolExecutor(2) as pool:
        results = bounded_map(pool, square, range(1000), chunksize=4, window=3)
        first = [next(results) for _ in range(5)]
        pool.shutdown(wait=True)  # everything submitted so far has run; nothing more is submitted without a reader
        # Read 5 items = 2 chunks taken; at most 3 chunks stay submitted beyond them: Executor.map would have run 1000.
        assert len(started) <= (2 + 3) * 4
    assert first == [0, 1, 4, 9, 16]
    with ThreadPoolExecutor(2) as pool:
        assert list(bounded_map(pool, square, range(103), chunksize=4, window=3)) == [x * x for x in range(103)]


def extraction_peak_bytes(tmp_path, utterances: int) -> int:
    """tracemalloc's peak while extract_corpus writes `utterances` one-second tones in shards of 4."""
    prepared = tmp_path / f"prepared-{utterances}"
    names = [f"u{k}.wav" for k in range(utterances)]
    for k, name in enumerate(names):
        write_audio(prepared / name, tone(16000, 16000, 200 + k), 16000)
    manifest = pd.DataFrame(dict(id=[n[:-4] for n in names], path=names))
    tracemalloc.start()
    try:
        index, _ = extract_corpus({"train": manifest}, prepared, tmp_path / f"features-{utterances}",
                                  FeatureSettings(sample_rate=16000), shard_size=4, workers=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(index) == utterances and index["shard"].nunique() == -(-utterances // 4)
    return peak


def test_feature_extraction_peak_memory_does_not_grow_with_the_corpus(tmp_path):
    # Each utterance is 99 frames x 39 float32 = 15 KB: holding every one would take 1.2 MB at 80 and 4.8 MB at 320,
    # a 4x peak. Streaming holds one shard (4) plus the workers' bounded backlog (4 chunks of 16) at either size.
    small, large = extraction_peak_bytes(tmp_path, 80), extraction_peak_bytes(tmp_path, 320)
    assert large < 1.5 * small, f"peak {large / 1e6:.2f} MB at 320 utterances against {small / 1e6:.2f} MB at 80"


@pytest.mark.slow  # loads TensorFlow
def test_evaluation_streams_lm_decoding_and_keeps_log_probs_only_for_posteriorgrams(tmp_path):
    from asr.bundle import load_bundle
    from asr.decoding.lexicon_beam import LexiconBeamSettings
    from asr.evaluation.lm_decode import load_lm_decoder, with_lm_hypotheses
    from asr.evaluation.split import decode_split
    from asr.model.inference import make_forward
    from stages import features, labels, lm, prepare
    from tests.random_bundle import write_random_bundle

    corpus = tmp_path / "corpus"
    rows = []
    # the LM leaves out every dev and test sentence: train's must differ
    texts = ["hello there", "good day", "hello good day", "good there", "there", "day good", "hello hello", "good",
             "day", "there hello"]
    for k, (split, text) in enumerate(zip(["train"] * 3 + ["dev"] + ["test"] * 6, texts)):
        write_audio(corpus / f"a{k}.wav", tone(16000, 16000, 200 + 50 * k), 16000)
        rows.append(dict(path=f"a{k}.wav", text=text, id=f"u{k}", split=split))
    pd.DataFrame(rows).to_csv(corpus / "set.csv", index=False)
    cfg = compose(["data=manifest", f"data.root={corpus / 'set.csv'}", "features.workers=1", "lm.wordnet=false",
                   "lm.char_order=3"], tmp_path)
    for stage in (prepare, features, labels, lm):
        run_stage(stage, cfg)
    bundle = load_bundle(write_random_bundle(tmp_path / "bundle"))
    decoder = load_lm_decoder(cfg.paths.lm, bundle.vocab, LexiconBeamSettings(beam=10), lexicon_free=False)
    forward = make_forward(bundle.model)
    shown = {"u5"}
    predictions = decode_split(bundle, forward, cfg.paths.features, cfg.paths.labels, "test", "greedy", 1, shown,
                               batch_size=2, lm_decoder=decoder)

    assert sorted(predictions["id"]) == [f"u{k}" for k in range(4, 10)]
    assert predictions["hypothesis_lm"].notna().all() and (predictions["seconds_lm"] >= predictions["seconds"]).all()
    kept = predictions[predictions["log_probs"].notna()]
    assert kept["id"].tolist() == ["u5"]  # the other five utterances' (steps, classes) arrays are gone
    assert kept["hypothesis_lm"].iloc[0] == decoder.decode(kept["log_probs"].iloc[0])

    # One row in, one row out: a reader of the first row does not wait for (nor hold) the rest of the split.
    def rows_then_failure():
        yield kept.iloc[0].to_dict()
        raise AssertionError("read past the first row")

    first = next(with_lm_hypotheses(rows_then_failure(), decoder))
    assert first["id"] == "u5" and first["hypothesis_lm"] == kept["hypothesis_lm"].iloc[0]
