"""Atomic file and directory writes: a crash never leaves a half-written output, nor loses the previous one.

Temporaries are siblings named `.<name>.<pid>.<random>.tmp`; a process killed mid-write leaves one
behind, and the next write of the same output removes those whose process is gone.
"""

import ctypes
import ctypes.util
import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2  # renameat2(2): swap two paths in one step (Linux >= 3.15, glibc >= 2.28)
# After ".<name>.": "<pid>.<random>.tmp", "<pid>.old" (the fallback's previous directory), or "<random>.tmp"
# (written before temporaries carried their pid). mkstemp's random part has no dot.
_TEMPORARY = re.compile(r"(?:(?P<pid>\d+)\.)?(?:[^.]+\.tmp|(?<=\.)(?P<old>old))")


@contextmanager
def atomic_path(path):
    """Yield a temporary sibling path; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


@contextmanager
def atomic_dir(path):
    """Yield a temporary sibling directory that replaces `path` only if the block succeeds.

    The previous directory stays whole until the new one is complete, and is swapped out in one step.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        _replace_dir(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)  # the new directory after a failure, or the old one after the swap


def _replace_dir(new: Path, path: Path) -> None:
    """Put `new` at `path`; afterwards `new` holds the previous directory (if any), for the caller to remove."""
    if not path.exists():
        os.replace(new, path)
    elif not _exchange(new, path):
        # No atomic swap here (not Linux, an old kernel, a filesystem without it): move the old one
        # aside first; a kill between the two renames is undone by the next write (remove_stale_temporaries).
        aside = path.with_name(f".{path.name}.{os.getpid()}.old")
        os.replace(path, aside)
        os.replace(new, path)
        os.replace(aside, new)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with renameat2(RENAME_EXCHANGE); False where that is not available."""
    try:
        renameat2 = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


def remove_stale_temporaries(path) -> list[Path]:
    """Delete the temporaries of `path` left by processes that no longer run; return what was removed.

    If a kill fell between the two renames of the fallback replace, `path` is missing and the previous
    directory waits as `.<name>.<pid>.old`: it is put back first.
    """
    path = Path(path)
    removed = []
    if not path.parent.is_dir():
        return removed
    for leftover in sorted(path.parent.glob(f".{_glob_escape(path.name)}.*")):
        match = _TEMPORARY.fullmatch(leftover.name[len(path.name) + 2 :])
        if match is None or (match["pid"] and _process_alive(int(match["pid"]))):
            continue
        if match["old"] and not path.exists():
            os.replace(leftover, path)
            continue
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
        removed.append(leftover)
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _glob_escape(name: str) -> str:
    return "".join(f"[{ch}]" if ch in "*?[" else ch for ch in name)


def write_text(path, text):
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path, obj):
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_csv(path, frame: pd.DataFrame, sep=","):
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, sep=sep)
