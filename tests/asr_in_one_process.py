"""Several `asr` commands in one real Python process: TensorFlow (about 10 s) is imported once, not per command.

Each command gets what a process of its own would: its argument list through `asr.app.cli.main` (what
`python -m asr.app.cli` calls), its own standard input as a real pipe on file descriptor 0, its own stdout and
stderr captured at file descriptors 1 and 2 (C++ lines too, not only Python's), and main's return value, or
argparse's SystemExit code, as its exit status. An exception that escapes main fails the whole run, as a traceback
would show in a process of its own: tests that expect one (--debug) run the command in a process of its own.
"""

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO

# argv: [[arguments, stdin file or null, stdout file, stderr file], ...]; prints one exit status a line.
RUN_COMMANDS = r"""
import json, os, sys, threading
from asr.app.cli import main


def feed(path):
    # a pipe on fd 0, written by a thread and closed at the end: what `... | asr transcribe -` gives
    read_end, write_end = os.pipe()

    def write():
        with open(path, "rb") as source, os.fdopen(write_end, "wb") as sink:
            sink.write(source.read())

    writer = threading.Thread(target=write)
    writer.start()
    os.dup2(read_end, 0)
    os.close(read_end)
    return writer


saved = [os.dup(fd) for fd in (0, 1, 2)]
statuses = []
for arguments, stdin, stdout, stderr in json.loads(sys.argv[1]):
    writer = feed(stdin) if stdin else None
    if not writer:
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        try:
            status = main(arguments)
        except SystemExit as stop:  # argparse: usage line, then exit status 2 (0 for --help)
            status = stop.code or 0
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, original in zip((0, 1, 2), saved):
                os.dup2(original, fd)
    if writer:
        writer.join()
    statuses.append(status)
print(json.dumps(statuses))
"""


@dataclass
class Ran:
    """One command's exit status and output, as subprocess.run gives them."""

    args: list[str]
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def out(self) -> str:
        return self.stdout.decode()

    @property
    def err(self) -> str:
        return self.stderr.decode()


def run_asr_commands(commands, folder: Path, timeout: int = 900) -> list[Ran]:
    """Run each (arguments, stdin bytes or None) in order in one `asr` process; outputs are kept under `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = []
    for number, (arguments, stdin) in enumerate(commands):
        stdin_path = None
        if stdin is not None:
            stdin_path = folder / f"{number}.stdin"
            stdin_path.write_bytes(stdin)
        spec.append([list(map(str, arguments)), stdin_path and str(stdin_path), str(folder / f"{number}.stdout"),
                     str(folder / f"{number}.stderr")])
    result = subprocess.run([sys.executable, "-c", RUN_COMMANDS, json.dumps(spec)], cwd=REPO, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr
    statuses = json.loads(result.stdout.splitlines()[-1])
    return [Ran(arguments, status, Path(out).read_bytes(), Path(err).read_bytes())
            for (arguments, _, out, err), status in zip(spec, statuses)]
