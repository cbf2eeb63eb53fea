"""Worker functions that the operating system "kills" (SIGKILL, as the out-of-memory killer does) on one input.

They stand in for the real worker functions in a subprocess (tests/test_dead_workers.py): the pool, the stage
and everything around them are the real ones. The originals are captured at import, so a forked child (which
sees the substitution) and a spawned child (which imports this module afresh) both reach the real work.
"""

import os
import signal
from pathlib import Path

from asr.corpus import synthetic
from asr.features import extract

DYING_FILE = "die.wav"  # the features worker given this file is killed
DYING_UTTERANCE = 5  # the synthesis worker given the utterance with this index is killed

_features_for_file = extract._features_for_file
_render_in_worker = synthetic._render_in_worker


def features_or_die(path: str, settings):
    if Path(path).name == DYING_FILE:
        os.kill(os.getpid(), signal.SIGKILL)
    return _features_for_file(path, settings)


def render_or_die(job):
    if job.index == DYING_UTTERANCE:
        os.kill(os.getpid(), signal.SIGKILL)
    return _render_in_worker(job)
