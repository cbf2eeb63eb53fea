"""Keep TensorFlow's C++ log lines (absl, oneDNN, CPU features) off the terminal, on every CPU.

TF_CPP_MIN_LOG_LEVEL does not cover them all: the absl lines written before its logging starts
ignore the variable, and oneDNN's "supports DT_BOOL only on platforms with AVX-512" is an ERROR
line that level 2 still shows. Which lines appear depends on the CPU (oneDNN's custom operations
switch on only where the instruction set has them), so a fixed list of variables cannot quiet
them. Instead file descriptor 2, where C++ writes, becomes a pipe read by a thread that forwards
every line except native INFO/WARNING/ERROR log lines. Python's sys.stderr (error lines, tracebacks,
progress bars) writes to fd 2 as well, so it keeps its order; the stream object itself is left alone,
because handlers such as logging's keep a reference to it. FATAL lines (a crash's last words) are
always forwarded.
"""

import contextlib
import os
import re
import sys
import threading

# glog/absl's prefix: severity letter, MMDD, hh:mm:ss.micros (before absl starts: 0000 00:00:<epoch seconds>), thread, file:line]
NATIVE_LOG_LINE = re.compile(rb"^[IWE]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [^\s:]+:\d+\] ")
# The same prefix anywhere in a line: C++ writing while a progress bar's line is still open (no newline yet).
EMBEDDED_NATIVE_LOG = re.compile(rb"[IWE]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [^\s:]+:\d+\] [^\n]*\n")
NATIVE_LOG_START = re.compile(rb"^([IWE]\d{0,4}|[IWE]\d{4} [^\n]*)$")  # a line so far that may still be one
ABSL_PREAMBLE = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"


SHOW_VARIABLE = "ASR_NATIVE_LOGS"  # =1: show the C++ log lines (what --debug also does)


def native_logs_wanted(environ=os.environ) -> bool:
    """True when the user asked for TensorFlow's C++ log lines (ASR_NATIVE_LOGS=1)."""
    return environ.get(SHOW_VARIABLE, "") not in ("", "0")


def is_native_log_line(line: bytes) -> bool:
    """True for a C++ INFO, WARNING or ERROR log line (or absl's preamble); FATAL lines and all else are kept."""
    return bool(NATIVE_LOG_LINE.match(line)) or line.rstrip(b"\r\n") == ABSL_PREAMBLE


def _may_become_native_log_line(start: bytes) -> bool:
    """True while an unfinished line could still turn out to be a native log line (so it must wait for its end)."""
    return bool(NATIVE_LOG_START.match(start)) or ABSL_PREAMBLE.startswith(start) or start.startswith(ABSL_PREAMBLE)


def _forward(read_fd: int, real_fd: int) -> None:
    """Copy the pipe to the real stderr, leaving native log lines out, until the pipe closes.

    A line that cannot be a native log line is passed on as it arrives, before its end: a progress
    bar redrawn with \r appears at once. Only a line that starts like one waits for its newline.
    """
    pending, passing = b"", False  # the current line's bytes held back; whether it is known to pass
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            for position, segment in enumerate(chunk.splitlines(keepends=True)):
                complete = segment.endswith(b"\n")
                if passing and position == 0 and _may_become_native_log_line(segment.rstrip(b"\n")):
                    passing = False  # a new write that starts like a log line, after a bar's open line
                if passing:
                    # A log line written into the open line (in the same read) is cut out, newline and all.
                    os.write(real_fd, EMBEDDED_NATIVE_LOG.sub(b"", segment) if complete else segment)
                elif complete:
                    line, pending = pending + segment, b""
                    if not is_native_log_line(line):
                        os.write(real_fd, line)
                else:
                    pending += segment
                    if not _may_become_native_log_line(pending):
                        os.write(real_fd, pending)
                        pending, passing = b"", True
                if complete:
                    passing = False
        if pending and not is_native_log_line(pending):
            os.write(real_fd, pending)


@contextlib.contextmanager
def native_logs_hidden(enabled: bool = True):
    """Within the block, C++ log lines written to fd 2 are dropped; everything else reaches stderr, in order.

    Python's sys.stderr writes to fd 2 too, so its lines pass through the same pipe, in the order
    written. On exit fd 2 is what it was (a caller may run this block again, with another stderr).
    enabled=False (e.g. --debug) leaves stderr untouched.
    """
    try:
        real_fd = os.dup(2) if enabled else None
    except OSError:  # no fd 2 at all (a daemon): nothing to filter
        real_fd = None
    if real_fd is None:
        yield
        return
    read_fd, write_fd = os.pipe()
    forwarder = threading.Thread(target=_forward, args=(read_fd, real_fd), name="native-log-filter", daemon=True)
    forwarder.start()
    _flush(sys.stderr)
    os.dup2(write_fd, 2)
    os.close(write_fd)
    try:
        yield
    finally:
        _flush(sys.stderr)
        os.dup2(real_fd, 2)  # the pipe's last writer in this process is gone: the thread sees EOF and ends
        # A child that inherited the pipe and outlives us would hold it open: never wait for it long.
        forwarder.join(timeout=5)
        if not forwarder.is_alive():  # else the thread still writes to it: leave it open to the thread
            os.close(real_fd)


def _flush(stream) -> None:
    try:
        stream.flush()
    except (AttributeError, OSError, ValueError):
        pass
