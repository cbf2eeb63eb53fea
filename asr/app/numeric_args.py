"""argparse `type=` functions for numeric flags: nonsense (NaN, inf, 0 workers, a negative rate) is a usage error.

argparse turns the ArgumentTypeError into `asr <command>: error: argument --flag: <message>` and exit status 2,
before any model is loaded.
"""

import argparse
import math


def whole_number(minimum: int, maximum: int | None = None):
    """A type function accepting integers >= minimum (and <= maximum) ("8000", not "8000.5", "nan" or "inf")."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum or (maximum is not None and value > maximum):
            bound = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
            raise argparse.ArgumentTypeError(f"must be a whole number {bound}, got {text!r}")
        return value

    return parse


def finite_number(minimum: float | None = None):
    """A type function accepting finite floats (>= minimum when given): NaN slips through every comparison."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or (minimum is not None and value < minimum):
            bound = "" if minimum is None else f" >= {minimum:g}"
            raise argparse.ArgumentTypeError(f"must be a finite number{bound}, got {text!r}")
        return value

    return parse
