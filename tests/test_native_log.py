"""asr.native_log: TensorFlow's C++ log lines are dropped at file descriptor 2, everything else passes, in order."""

import subprocess
import sys

from asr.native_log import is_native_log_line
from tests.conftest import REPO

# Verbatim from a Zen 4 machine's `asr transcribe` (issue 24), and one FATAL line that must stay.
PREAMBLE = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
ONEDNN_ON = (b"I0000 00:00:1764681600.123456    4242 port.cc:153] oneDNN custom operations are on. You may see "
             b"slightly different numerical results due to floating-point round-off errors")
DT_BOOL = (b"E0000 00:00:1764681601.000001    4242 util.cc:131] oneDNN supports DT_BOOL only on platforms with "
           b"AVX-512. Falling back to the default Eigen-based implementation if present.")
FATAL = b"F0000 00:00:1764681602.5    4242 check.cc:9] Check failed: x == y"


def test_native_info_warning_and_error_lines_are_recognised():
    assert is_native_log_line(PREAMBLE) and is_native_log_line(ONEDNN_ON) and is_native_log_line(DT_BOOL)
    assert is_native_log_line(b"W1202 13:05:59.000100  17 cuda_dnn.cc:8] cuDNN not found")


def test_fatal_lines_and_the_programs_own_lines_are_not():
    assert not is_native_log_line(FATAL)
    for own in (b"asr: error: model bundle not found: models/bundle", b"epoch 1: train loss 3.1",
                b"I0000 is not a log line without its file:line]", b"WARNING: something else",
                b"error: model.units must be > 0, got 0"):
        assert not is_native_log_line(own), own


# Writes as C++ does (os.write on fd 2), as Python does (sys.stderr) and as a child process does, inside the block,
# then once more after it: the filter must end with the block.
WRITER = r"""
import os, subprocess, sys
from asr.native_log import native_logs_hidden

with native_logs_hidden():
    os.write(2, PREAMBLE + b"\n" + ONEDNN_ON + b"\nnative but not a log line\n")
    print("python line", file=sys.stderr)
    sys.stderr.write("progress 50%\rprogress 100%\n")
    subprocess.run([sys.executable, "-c", "import os; os.write(2, DT_BOOL + b'\\nchild line\\n')"], check=True)
    os.write(2, FATAL + b"\n")
os.write(2, ONEDNN_ON + b"\nafter the block\n")
"""


def run_writer(code: str):
    constants = "".join(f"{name} = {value!r}\n" for name, value in
                        dict(PREAMBLE=PREAMBLE, ONEDNN_ON=ONEDNN_ON, DT_BOOL=DT_BOOL, FATAL=FATAL).items())
    child_constants = code.replace("import os; os.write", constants.replace("\n", "; ") + "import os; os.write")
    return subprocess.run([sys.executable, "-c", constants + child_constants], cwd=REPO, capture_output=True,
                          timeout=60)


def test_the_block_drops_native_log_lines_from_the_process_and_its_children_and_keeps_the_rest():
    result = run_writer(WRITER)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.split(b"\n")
    assert b"native but not a log line" in lines and b"child line" in lines and FATAL in lines
    assert b"python line" in lines and b"progress 50%\rprogress 100%\n" in result.stderr
    assert PREAMBLE not in lines and DT_BOOL not in lines
    # inside the block the oneDNN line is gone; after it, fd 2 is the terminal again and the line shows
    assert lines.count(ONEDNN_ON) == 1 and lines.index(ONEDNN_ON) == lines.index(b"after the block") - 1


def test_disabled_it_changes_nothing():
    result = run_writer(WRITER.replace("native_logs_hidden()", "native_logs_hidden(enabled=False)"))
    assert result.returncode == 0, result.stderr
    lines = result.stderr.split(b"\n")
    assert PREAMBLE in lines and DT_BOOL in lines and lines.count(ONEDNN_ON) == 2


def test_a_log_line_written_while_a_progress_bar_line_is_open_is_dropped():
    # tqdm leaves its line open (no newline); C++ then writes its line on fd 2, in another write or the same one.
    result = run_writer(r"""
import os
from asr.native_log import native_logs_hidden

with native_logs_hidden():
    os.write(2, b"\rfiles:   0%| 0/9")
    os.write(2, DT_BOOL + b"\n")
    os.write(2, b"\rfiles:  11%| 1/9" + DT_BOOL + b"\n")
    os.write(2, b"\rfiles: 100%| 9/9\n")
""")
    assert result.returncode == 0, result.stderr
    assert result.stderr == b"\rfiles:   0%| 0/9\rfiles:  11%| 1/9\rfiles: 100%| 9/9\n"
