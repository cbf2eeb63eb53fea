"""What `asr transcribe` reads: audio files, directories (searched recursively), and `-` for standard input."""

import shutil
import sys
import tempfile
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from asr.app.transcribe import collect_audio_files
from asr.errors import AudioError, UserError

STDIN = "-"


@dataclass(frozen=True)
class Input:
    path: Path  # what the transcriber reads; for standard input, a temporary copy of it
    name: str  # how output and messages call it: the path found, or "-"
    output_name: Path  # under -o DIR, less the extension: the file's name, or its path inside the directory given


@contextmanager
def copy_of_stdin():
    """Standard input copied block by block into a temporary file, whose path is yielded (deleted afterwards).

    Raises AudioError when there is nothing to read: a terminal (reading it would wait for typing), or 0 bytes.
    """
    stream = sys.stdin
    if stream is None:
        raise AudioError("no standard input (it is closed)")
    if stream.isatty():
        raise AudioError("standard input is a terminal, not audio (pipe a file in: asr transcribe - < talk.wav)")
    with tempfile.TemporaryDirectory(prefix="asr-stdin-") as folder:
        path = Path(folder) / "stdin"
        with open(path, "wb") as copy:
            shutil.copyfileobj(stream.buffer, copy, 1 << 20)  # memory stays flat for a long recording
        if path.stat().st_size == 0:
            raise AudioError("empty standard input (0 bytes)")
        yield path


def gather_inputs(arguments: list[str], stack: ExitStack) -> tuple[list[Input], list[tuple[str, AudioError]]]:
    """The inputs in argument order, and (name, reason) for each that cannot be read at all.

    Standard input is copied to a temporary file that lives as long as `stack`.
    """
    if arguments.count(STDIN) > 1:
        raise UserError(f"{STDIN} (standard input) can be read only once")
    inputs, unreadable = [], []
    for argument in arguments:
        if argument == STDIN:
            try:
                inputs.append(Input(stack.enter_context(copy_of_stdin()), STDIN, Path("stdin")))
            except AudioError as exc:
                unreadable.append((STDIN, exc))
            continue
        root = Path(argument)
        for path in collect_audio_files([argument]):
            inputs.append(Input(path, str(path), path.relative_to(root) if root.is_dir() else Path(path.name)))
    return inputs, unreadable
