"""Peak memory of the `features` and `train` stages on the default-sized corpus and on one ten times larger.

Each corpus is synthesised into a temporary directory (eSpeak only, short phrases, no augmentation: minutes,
not hours; both sizes with the same settings). Each measured stage runs as the real `python -m stages.<name>`
under a fresh wrapper process, so no earlier process's peak carries over, and reports two peaks:
  tree: the largest sum of RSS over the stage and its worker processes (psutil, sampled every 50 ms);
  largest_process: getrusage(RUSAGE_CHILDREN).ru_maxrss of the wrapper: the largest single process, exact.
Memory that stays flat in the corpus size shows as a 10x / 1x ratio near 1 (the issue asks for within 25 %).

    python -m bench.memory            # these rows alone (23 min on 2 busy cores, 13 of them synthesis)
    python -m bench --memory          # with the other rows
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from omegaconf import OmegaConf

from stages.params import compose_params

REPO = Path(__file__).resolve().parent.parent
SCALES = (1, 10)
# What makes synthesis and training fast; the same at every size, so only the corpus size differs.
FAST = [
    "data.engines=[espeak]",
    "data.heldout_engine=null",
    "data.sentences=words",
    "data.augment_splits=[]",
    "model.units=16",
    "model.layers=1",
    "train.epochs=1",
]
# Run as the measured stage's parent: its RUSAGE_CHILDREN peak covers the stage and every worker it waited for.
WRAPPER = """
import json, resource, subprocess, sys
status = subprocess.run(sys.argv[2:], stdout=open(sys.argv[1], "w"), stderr=subprocess.STDOUT).returncode
print(json.dumps(dict(status=status, largest_kib=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)))
"""
MIB = 1024 * 1024


def tree_rss(process: psutil.Process) -> int:
    """Bytes resident in `process`'s descendants (the wrapper itself left out); 0 for any that just ended."""
    total = 0
    for child in process.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def measure_stage(stage: str, params: Path, log: Path) -> dict:
    """Run stage `stage` on `params` in a fresh process tree: peak MiB (tree and largest process) and seconds."""
    command = [sys.executable, "-c", WRAPPER, str(log), sys.executable, "-m", f"stages.{stage}", "--params", str(params)]
    start, peak = time.perf_counter(), 0
    wrapper = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    process = psutil.Process(wrapper.pid)
    while wrapper.poll() is None:
        try:
            peak = max(peak, tree_rss(process))
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    outcome = json.loads(wrapper.communicate()[0])
    if outcome["status"] != 0:
        raise RuntimeError(f"stages.{stage} failed ({outcome['status']}); its output is in {log}:\n"
                           + log.read_text()[-2000:])
    return dict(tree_mib=round(peak / MIB, 1), largest_process_mib=round(outcome["largest_kib"] / 1024, 1),
                seconds=round(time.perf_counter() - start, 1))


def run_stage(stage: str, params: Path, log: Path) -> float:
    """Run an unmeasured stage (prepare, labels); its seconds."""
    start = time.perf_counter()
    with open(log, "w") as out:
        subprocess.run([sys.executable, "-m", f"stages.{stage}", "--params", str(params)], cwd=REPO, stdout=out,
                       stderr=subprocess.STDOUT, check=True)
    return round(time.perf_counter() - start, 1)


def bench_size(utterances: int, root: Path) -> dict:
    """prepare + features (measured) + labels + train (measured) on a corpus of `utterances` under `root`."""
    cfg = OmegaConf.create(compose_params([*FAST, f"data.num_utterances={utterances}"]))
    for key, value in cfg.paths.items():
        cfg.paths[key] = str(root / value)
    params = root / "params.yaml"
    OmegaConf.save(cfg, params)
    result = dict(utterances=utterances, prepare_seconds=run_stage("prepare", params, root / "prepare.log"))
    result["features"] = measure_stage("features", params, root / "features.log")
    result["labels_seconds"] = run_stage("labels", params, root / "labels.log")
    result["train"] = measure_stage("train", params, root / "train.log")
    # the stages' own one-line summaries (utterances, hours, frames), for the record
    result["summary"] = [(root / f"{s}.log").read_text().strip().splitlines()[-1] for s in ("prepare", "features", "train")]
    return result


def bench_memory(base_utterances: int) -> dict:
    """Both stages' peaks at each scale of `base_utterances` (default: data.num_utterances), and the ratios."""
    results = dict(unit="MiB", overrides=FAST, scales={})
    for scale in SCALES:
        with tempfile.TemporaryDirectory(prefix=f"bench-memory-{scale}x-") as root:
            print(f"  memory: {scale}x = {scale * base_utterances} utterances...", flush=True)
            results["scales"][f"{scale}x"] = bench_size(scale * base_utterances, Path(root))
    small, large = (results["scales"][f"{s}x"] for s in SCALES)
    for stage in ("features", "train"):
        results[f"{stage}_ratio"] = round(large[stage]["tree_mib"] / small[stage]["tree_mib"], 3)
    return results


def rows(memory: dict):
    """(measure, project, reference, unit) rows for python -m bench's table: 10x against 1x."""
    small, large = (memory["scales"][f"{s}x"] for s in SCALES)
    for stage in ("features", "train"):
        yield f"peak RSS of {stage}: 10x corpus vs 1x (tree)", large[stage]["tree_mib"], small[stage]["tree_mib"], "MiB"
        yield (f"peak RSS of {stage}: 10x vs 1x (largest process)", large[stage]["largest_process_mib"],
               small[stage]["largest_process_mib"], "MiB")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=None, help="the 1x corpus size (default: data.num_utterances)")
    parser.add_argument("--output", default="bench/memory.json")
    args = parser.parse_args(argv)
    from asr.atomic import write_json
    from bench.timing import table_row

    base = args.utterances or OmegaConf.load(REPO / "params.yaml").data.num_utterances
    results = bench_memory(base)
    write_json(args.output, results)
    for row in rows(results):
        print(table_row(*row))
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
