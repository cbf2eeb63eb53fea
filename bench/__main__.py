"""python -m bench: each stage against its reference, in one run, on the default corpus (after `dvc repro`).

Prints a table and writes bench/results.json. Ratios are project / reference from the same run.
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pandas as pd  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402

from asr.atomic import write_json  # noqa: E402
from asr.csvio import read_text_table  # noqa: E402
from bench.timing import table_row  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=1000, help="training-split slice for the feature benchmark")
    parser.add_argument("--test-utterances", type=int, default=200, help="test utterances to transcribe")
    parser.add_argument("--train-seconds", type=float, default=90, help="wall-clock training budget per configuration (taken in --repeats turns)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of each row (training: turns)")
    parser.add_argument("--sentences", type=int, default=30, help="sentences each synthesis engine speaks per repeat")
    parser.add_argument("--repro", action="store_true",
                        help="also time a whole `dvc repro` of the default pipeline in a fresh clone (about 15 min)")
    parser.add_argument("--memory", action="store_true",
                        help="also measure peak RSS of features and train on the default-sized corpus and one ten "
                             "times larger, each synthesised for it (bench/memory.py; about 25 min on 2 cores)")
    parser.add_argument("--distributed-utterances", type=int, default=200,
                        help="training utterances of the 1-process vs 2-workers epoch (a few minutes)")
    parser.add_argument("--skip-distributed", action="store_true", help="leave out the multi-worker training row")
    parser.add_argument("--output", default="bench/results.json")
    return parser.parse_args(argv)


def rows(results: dict):
    """(measure, project, reference, ratio, unit) rows for the table."""
    f, t, x, o = results["features"], results["training"], results["transcription"], results["overhead"]
    yield "features (parallel vs serial loop)", f["project"]["median"], f["reference"]["median"], f["unit"]
    batch = results["settings"].get("batch_size", "default")
    yield f"training: default model, batch {batch} vs recipe", t["project"]["median"], t["reference"]["median"], t["unit"]
    yield f"training: default model, batch {batch} vs batch 1", t["project"]["median"], t["project_batch_1"]["median"], t["unit"]
    if "project_keras_loop" in t:
        yield "training: input-projected GRU vs Keras' GRU loop", t["project"]["median"], t["project_keras_loop"]["median"], t["unit"]
    if "project_autodiff_gru" in t:
        # the previous default: the same network with TensorFlow's gradient of the GRU loop
        yield ("training: this default vs the previous default (hand-written GRU gradient vs autodiff of the "
               "loop)", t["project"]["median"], t["project_autodiff_gru"]["median"], t["unit"])
        yield ("training: dev CER after the same wall-clock budget, this default vs the previous default",
               t["project"]["dev_cer"], t["project_autodiff_gru"]["dev_cer"], "CER")
    yield "training: dev CER within the budget (vs recipe)", t["project"]["dev_cer"], t["reference"]["dev_cer"], "CER"
    yield "transcription speed vs PocketSphinx", x["project"]["median"], x["reference"]["median"], x["unit"]
    yield "transcription CER vs PocketSphinx", x["project"]["cer"], x["reference"]["cer"], "CER"
    yield "transcription speed: LM decoding vs greedy", x["project_lm"]["median"], x["project"]["median"], x["unit"]
    yield "transcription WER: LM decoding vs greedy", x["project_lm"]["wer"], x["project"]["wer"], "WER"
    yield "dvc repro with nothing to do / dvc status", o["dvc_repro_noop"]["median"], o["dvc_status"]["median"], o["unit"]
    s = results["synthesis"]
    for engine in (e for e in s if isinstance(s[e], dict)):
        yield f"synthesis: {engine} (one process) vs real time", s[engine]["median"], 1.0, s["unit"]
    if "onnx" in results:
        from bench.onnx import rows as onnx_rows

        yield from onnx_rows(results["onnx"])
    if "memory" in results:
        from bench.memory import rows as memory_rows

        yield from memory_rows(results["memory"])
    if "distributed" in results:
        from bench.distributed import rows as distributed_rows

        yield from distributed_rows(results["distributed"])
    if "repro" in results:
        yield "whole default `dvc repro` (fresh clone) vs 15 min", results["repro"]["seconds"], 900.0, "seconds"


def main(argv=None) -> None:
    args = parse_args(argv)
    # Features first, before the training/transcription rows import TensorFlow: the stage never loads it, and
    # with it loaded the workers would have to be spawned instead of forked (see asr.features.extract).
    from bench.features import bench_features

    params = OmegaConf.load("params.yaml")
    prepared = Path(params.paths.prepared)
    if not (Path(params.paths.model) / "model.keras").is_file():
        sys.exit("bench: no trained model; run `dvc repro` first")
    train = read_text_table(prepared / "train.csv", floats=("duration",)).head(args.utterances)
    test = read_text_table(prepared / "test.csv", floats=("duration",)).head(args.test_utterances)
    started = time.time()
    results = dict(machine=dict(cpus=os.cpu_count(), platform=platform.platform(), python=platform.python_version()),
                   settings=dict(vars(args), batch_size=params.train.batch_size))
    print("features...", flush=True)
    results["features"] = bench_features(train, prepared, params.features.workers, args.repeats)
    from bench.onnx import bench_onnx
    from bench.overhead import bench_overhead, bench_repro
    from bench.synthesis import bench_synthesis
    from bench.training import bench_training
    from bench.transcription import bench_transcription

    print("training...", flush=True)
    results["training"] = bench_training(params, args.train_seconds, args.repeats)
    if not args.skip_distributed:
        from bench.distributed import bench_distributed

        print("multi-worker training on 127.0.0.1...", flush=True)
        results["distributed"] = bench_distributed(params, args.distributed_utterances, 1)
    print("transcription...", flush=True)
    results["transcription"] = bench_transcription(test, prepared, params.paths.model, params.paths.lm, params.decode,
                                                   args.repeats)
    print("ONNX export against the Keras bundle...", flush=True)
    results["onnx"] = bench_onnx(test, prepared, params.paths.model, args.repeats)
    print("synthesis...", flush=True)
    options = OmegaConf.to_container(params.data)
    results["synthesis"] = bench_synthesis(params.data.engines, options, args.sentences, args.repeats)
    if args.repro:
        print("whole dvc repro in a fresh clone...", flush=True)
        results["repro"] = bench_repro()
    if args.memory:
        from bench.memory import bench_memory

        print("peak memory at 1x and 10x the corpus...", flush=True)
        results["memory"] = bench_memory(params.data.num_utterances)
    print("pipeline overhead...", flush=True)
    results["overhead"] = bench_overhead(args.repeats)
    results["minutes"] = round((time.time() - started) / 60, 1)
    table = pd.DataFrame([table_row(*row) for row in rows(results)])
    results["table"] = table.to_dict(orient="records")
    write_json(args.output, json.loads(json.dumps(results, default=float)))
    print(f"\n{table.to_string(index=False)}\n\nmedian of {args.repeats} repeats where repeated; "
          f"{results['minutes']} min; written to {args.output}")


if __name__ == "__main__":
    main()
