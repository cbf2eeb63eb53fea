"""Numbers on the `asr` command line are checked by argparse: a usage line and exit status 2, before any work."""

import subprocess
import sys

import pytest

from asr.app.cli import build_parser
from tests.conftest import REPO

# flag -> values that make no sense for it (NaN and inf included), checked for both commands
NONSENSE = {
    "--chunk-seconds": ["nan", "inf", "-inf", "-5", "0", "0.5", "ten"],
    "--beam-width": ["0", "-3", "2.5", "nan"],
    "--lm-beam": ["0", "-50", "nan"],
    "--lm-weight": ["-1", "nan", "inf"],
    "--word-score": ["nan", "inf", "-inf"],
    "--batch-size": ["0", "-16", "inf"],
}
COMMANDS = {"transcribe": ["x.wav"], "evaluate": ["m.csv"]}
CASES = [(command, flag, value) for command in COMMANDS for flag, values in NONSENSE.items() for value in values]
# a rate of 1 Hz or billions of Hz would build a resampling filter that does not fit in memory
CASES += [("transcribe", "--raw-rate", value) for value in ("0", "-8000", "8000.5", "nan", "inf", "1", "2000000000")]


@pytest.mark.parametrize("command, flag, value", CASES)
def test_nonsense_numbers_are_a_usage_error_naming_the_flag(command, flag, value, capsys):
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args([command, *COMMANDS[command], f"{flag}={value}"])
    assert stop.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"asr {command}: error: argument {flag}: ") and repr(value) in error, error


@pytest.mark.parametrize("flag, value, parsed", [
    ("--chunk-seconds", "1", 1.0), ("--chunk-seconds", "2.5", 2.5), ("--beam-width", "1", 1),
    ("--lm-beam", "200", 200), ("--lm-weight", "0", 0.0), ("--word-score", "-1.5", -1.5),
    ("--batch-size", "1", 1), ("--raw-rate", "8000", 8000),
])
def test_sensible_numbers_are_accepted(flag, value, parsed):
    args = build_parser().parse_args(["transcribe", "x.wav", flag, value])
    assert getattr(args, flag[2:].replace("-", "_")) == parsed


def test_the_real_command_stops_with_usage_and_status_2_without_loading_anything():
    result = subprocess.run([sys.executable, "-m", "asr.app.cli", "transcribe", "--raw-rate", "0", "x.raw"],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("usage: asr transcribe")
    assert result.stderr.strip().splitlines()[-1] == (
        "asr transcribe: error: argument --raw-rate: must be a whole number from 1000 to 768000, got '0'")
