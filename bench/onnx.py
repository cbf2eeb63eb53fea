"""The ONNX export against the Keras bundle: start-up time of `asr transcribe` and real-time factor, in one run.

`python -m bench.onnx` runs this row alone and adds it to bench/results.json; `python -m bench` runs it with the rest.
"""

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from asr.app.transcribe import Transcriber
from asr.export.onnx_runtime import load_exported
from bench.timing import measure, table_row


def startup_seconds(model, audio, repeats: int) -> dict:
    """Wall seconds of a fresh `asr transcribe` process on one file: imports, loading, features, forward pass, exit."""
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "asr.app.cli", "transcribe", str(audio), "--model", str(model)],
                       check=True, capture_output=True)
        seconds.append(time.perf_counter() - started)
    return dict(median=statistics.median(seconds), min=min(seconds), max=max(seconds), repeats=repeats)


def bench_onnx(manifest, prepared, bundle_dir, repeats: int) -> dict:
    from asr.bundle import load_bundle
    from asr.export.writer import export_bundle

    paths = [str(prepared / p) for p in manifest["path"]]
    audio_seconds = float(manifest["duration"].sum())
    with tempfile.TemporaryDirectory(prefix="bench-onnx-") as tmp:
        started = time.perf_counter()
        export_bundle(bundle_dir, Path(tmp) / "export")
        export_seconds = time.perf_counter() - started
        startup = dict(keras=startup_seconds(bundle_dir, paths[0], repeats),
                       onnx=startup_seconds(Path(tmp) / "export", paths[0], repeats))
        # As `asr transcribe` runs by default: greedy, text only, batches of pieces; each warmed up on one file.
        transcribers = dict(keras=Transcriber(load_bundle(bundle_dir), timings=False),
                            onnx=Transcriber(load_exported(Path(tmp) / "export"), timings=False))
        speed, texts = {}, {}
        for name, transcriber in transcribers.items():
            transcriber.transcribe(paths[0])

            def once(transcriber=transcriber, name=name):
                texts[name] = [result.text for _, result in transcriber.transcribe_many(paths)]
                return audio_seconds, {}

            speed[name] = measure(once, repeats)
            speed[name]["rtf"] = round(1 / speed[name]["median"], 5)
    return dict(startup=startup, speed=speed, same_text=texts["keras"] == texts["onnx"], utterances=len(paths),
                audio_seconds=round(audio_seconds, 1), export_seconds=round(export_seconds, 1))


def rows(onnx: dict):
    """(measure, project, reference, unit): the export against the bundle."""
    startup, speed = onnx["startup"], onnx["speed"]
    yield ("transcribe start-up (one file, new process): ONNX vs Keras", startup["onnx"]["median"],
           startup["keras"]["median"], "seconds")
    yield "transcription RTF (greedy): ONNX vs Keras", speed["onnx"]["rtf"], speed["keras"]["rtf"], "s / audio s"


def main(argv=None) -> None:
    from omegaconf import OmegaConf

    from asr.atomic import write_json
    from asr.csvio import read_text_table
    from bench.__main__ import parse_args

    args = parse_args(argv)
    params = OmegaConf.load("params.yaml")
    prepared = Path(params.paths.prepared)
    test = read_text_table(prepared / "test.csv", floats=("duration",)).head(args.test_utterances)
    onnx = bench_onnx(test, prepared, params.paths.model, args.repeats)
    results = json.loads(Path(args.output).read_text()) if Path(args.output).is_file() else {}
    results["onnx"] = onnx
    ours = [table_row(*row) for row in rows(onnx)]
    results["table"] = [r for r in results.get("table", []) if r["measure"] not in {r["measure"] for r in ours}] + ours
    write_json(args.output, json.loads(json.dumps(results, default=float)))
    for row in ours:
        print(row)
    print(f"same text: {onnx['same_text']}; {onnx['utterances']} utterances, {onnx['audio_seconds']} s of audio; "
          f"export took {onnx['export_seconds']} s; written to {args.output}")


if __name__ == "__main__":
    main()
