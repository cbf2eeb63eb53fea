"""Repeat a measurement and report its median and spread (the machines here are shared and noisy)."""

import statistics
import time


def measure(run, repeats: int) -> dict:
    """Call run() -> (work done, extra dict) `repeats` times; rate = work / wall seconds."""
    rates, seconds, extra = [], [], {}
    for _ in range(repeats):
        start = time.perf_counter()
        work, extra = run()
        elapsed = time.perf_counter() - start
        seconds.append(elapsed)
        rates.append(work / elapsed)
    return dict(median=statistics.median(rates), min=min(rates), max=max(rates),
                seconds=statistics.median(seconds), repeats=repeats, **extra)
