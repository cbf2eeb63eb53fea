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


def table_row(measure_name: str, project: float, reference: float, unit: str) -> dict:
    """One row of bench/results.json's table: ratio = project / reference."""
    return dict(measure=measure_name, project=round(project, 4), reference=round(reference, 4),
                ratio=round(project / reference, 2) if reference else None, unit=unit)
