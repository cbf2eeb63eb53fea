"""Pipeline overhead: a `dvc repro` with nothing to do, and `dvc status`."""

import subprocess
import tempfile
import time


def bench_overhead(repeats: int) -> dict:
    results = {}
    for name, command in (("dvc_repro_noop", ["dvc", "repro"]), ("dvc_status", ["dvc", "status"])):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True)
            times.append(time.perf_counter() - start)
            if done.returncode != 0 or "up to date" not in done.stdout:
                raise SystemExit(f"bench: `{' '.join(command)}` has work to do; run `dvc repro` first")
        times.sort()
        results[name] = dict(median=times[len(times) // 2], min=times[0], max=times[-1], repeats=repeats)
    return dict(unit="seconds", **results)


def bench_repro() -> dict:
    """Wall seconds of `dvc repro` of the committed default pipeline in a fresh clone (synthesis included)."""
    with tempfile.TemporaryDirectory(prefix="bench-repro-") as tmp:
        subprocess.run(["git", "clone", "-q", ".", tmp], check=True)
        start = time.perf_counter()
        done = subprocess.run(["dvc", "repro"], cwd=tmp, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"bench: `dvc repro` failed in a fresh clone:\n{done.stderr[-2000:]}")
    return dict(seconds=round(seconds, 1))
