"""Where `asr transcribe -o DIR` writes: one file per input, named after it, written atomically."""

import os
import tempfile
from pathlib import Path

from asr.app.inputs import Input
from asr.atomic import atomic_path
from asr.errors import UserError


def check_output_directory(directory: Path) -> None:
    """Create `directory` if needed and prove a file can be written there; UserError naming the reason if not."""
    if directory.exists() and not directory.is_dir():
        raise UserError(f"-o {directory}: not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise UserError(f"-o {directory}: cannot write there ({exc.strerror or exc})") from None


def output_paths(inputs: list[Input], directory: Path, extension: str) -> list[Path]:
    """The file each input is written to; UserError if two inputs would be written to the same file."""
    targets, seen = [], {}
    for item in inputs:
        target = directory / item.output_name.with_suffix(extension)
        if target in seen and seen[target] != item.name:
            raise UserError(f"{seen[target]} and {item.name} would both be written to {target}")
        seen[target] = item.name
        targets.append(target)
    return targets


def write_output(path: Path, document: str) -> None:
    """Write atomically, readable as any new file is (the temporary file's own mode is 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    with atomic_path(path) as tmp:
        tmp.write_text(document, encoding="utf-8")
        tmp.chmod(0o666 & ~umask)
