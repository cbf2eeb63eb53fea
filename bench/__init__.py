"""Benchmark: `python -m bench` measures each stage against its reference, side by side, in one run."""
