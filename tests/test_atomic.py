"""Artifacts are written as units: a kill or a crash keeps the previous one whole, and its temporaries are cleaned."""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from asr import atomic
from asr.atomic import atomic_dir, atomic_path, remove_stale_temporaries
from tests.conftest import REPO


def dead_pid() -> int:
    """The id of a process that has ended."""
    process = subprocess.Popen([sys.executable, "-c", ""])
    process.wait()
    return process.pid


def write_dir(path, text):
    with atomic_dir(path) as tmp:
        (tmp / "a.txt").write_text(text)
        (tmp / "b.txt").write_text(text)


def test_a_write_killed_midway_keeps_the_old_directory_and_the_next_write_removes_its_temporary(tmp_path):
    out = tmp_path / "out"
    write_dir(out, "old")
    killed = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import os, signal
        from asr.atomic import atomic_dir
        with atomic_dir({str(out)!r}) as tmp:
            (tmp / "a.txt").write_text("new")
            os.kill(os.getpid(), signal.SIGKILL)
        """)], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert killed.returncode == -signal.SIGKILL
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # what the kill left
    assert {p.name: p.read_text() for p in out.iterdir()} == {"a.txt": "old", "b.txt": "old"}

    write_dir(out, "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert {p.name: p.read_text() for p in out.iterdir()} == {"a.txt": "new", "b.txt": "new"}


def test_the_old_directory_stays_until_the_new_one_is_complete_and_a_failure_keeps_it(tmp_path):
    out = tmp_path / "out"
    write_dir(out, "old")
    with pytest.raises(RuntimeError):
        with atomic_dir(out) as tmp:
            (tmp / "a.txt").write_text("new")
            assert (out / "a.txt").read_text() == "old"
            raise RuntimeError("crash while writing")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert (out / "a.txt").read_text() == "old"


def test_without_an_atomic_swap_a_kill_between_the_two_renames_is_undone(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)  # a platform without renameat2
    out = tmp_path / "out"
    write_dir(out, "old")
    write_dir(out, "new")  # the fallback: old aside, new in place, old removed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"] and (out / "a.txt").read_text() == "new"
    # The state a kill after the first rename leaves: no `out`, the previous directory moved aside.
    os.replace(out, tmp_path / f".out.{dead_pid()}.old")
    remove_stale_temporaries(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"] and (out / "a.txt").read_text() == "new"


def test_only_temporaries_of_ended_processes_are_removed(tmp_path):
    out = tmp_path / "out.csv"
    stale = [tmp_path / f".out.csv.{dead_pid()}.x1y2.tmp", tmp_path / ".out.csv.ab_cd.tmp"]  # the latter: older name
    live = tmp_path / f".out.csv.{os.getppid()}.x1y2.tmp"  # a running process is still writing it
    others = [tmp_path / ".out.csv.rejected.csv.1.ab.tmp", tmp_path / ".out.csv.notes"]
    for path in stale + [live] + others:
        path.write_text("")
    with atomic_path(out) as tmp:
        tmp.write_text("x")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in [out, live] + others)


def test_a_crash_while_saving_a_checkpoint_keeps_the_previous_epoch_whole(tmp_path, monkeypatch):
    keras = pytest.importorskip("keras")
    from asr.model.checkpoint import load_checkpoint, save_checkpoint
    from asr.model.network import ModelSettings, build_model

    settings = ModelSettings(cell="gru", units=4, layers=1, dropout=0.25, input_noise=0.0, layer_norm=False,
                             subsample=3)

    def build():
        model = build_model(6, 5, settings)
        optimizer = keras.optimizers.Adam()
        optimizer.build(model.trainable_variables)
        return model, optimizer

    model, optimizer = build()
    save_checkpoint(tmp_path / "checkpoint", model, optimizer, model, dict(epoch=1))
    epoch1 = model.get_weights()
    model.set_weights([w + 1 for w in epoch1])

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)  # the weights are written, then saving the optimizer fails
    with pytest.raises(OSError):
        save_checkpoint(tmp_path / "checkpoint", model, optimizer, model, dict(epoch=2))
    monkeypatch.undo()

    restored, restored_optimizer = build()
    assert load_checkpoint(tmp_path / "checkpoint", restored, restored_optimizer, restored)["epoch"] == 1
    for saved, loaded in zip(epoch1, restored.get_weights()):
        np.testing.assert_array_equal(saved, loaded)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint"]
