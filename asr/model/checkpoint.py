"""Resumable training state: weights, optimizer variables, random-generator states and loop counters.

The checkpoint is one directory written as a unit (asr.atomic.atomic_dir): a kill while saving
leaves the previous epoch's checkpoint whole, never the weights of one epoch beside the counters
of another. It holds everything that makes a resumed run end with the same weights as an
uninterrupted one: the data order and SpecAugment draws are seeded per epoch (asr.model.data), and
the seed generators of the dropout and noise layers are saved here.
"""

import hashlib
import json
from pathlib import Path

import numpy as np

from asr.atomic import atomic_dir

STATE_FILE = "state.json"
FORMAT = 2  # 1: files replaced one by one, no random-generator state (not resumed: training starts afresh)


def run_fingerprint(settings: list[dict], data_files) -> str:
    """What a checkpoint must match to be resumed: the settings and the exact bytes of the training data."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for path in data_files:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:16]


def weights_digest(arrays) -> str:
    """A short SHA-256 of weight arrays' exact bytes, in order: equal digests mean bit-identical weights."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()[:16]


def random_states(model) -> list:
    """The model's variables that are not weights: its layers' seed generators (dropout, noise), in order."""
    weights = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in weights]


def save_checkpoint(directory, model, optimizer, best_model, state: dict) -> None:
    """Write everything needed to continue after the last completed epoch, replacing the previous checkpoint whole."""
    with atomic_dir(directory) as tmp:
        model.save_weights(tmp / "last.weights.h5")
        best_model.save_weights(tmp / "best.weights.h5")
        _save_arrays(tmp / "optimizer.npz", optimizer.variables)
        _save_arrays(tmp / "random.npz", random_states(model))
        (tmp / STATE_FILE).write_text(json.dumps(dict(state, format=FORMAT), indent=2, sort_keys=True) + "\n")


def read_state(directory) -> dict | None:
    """The loop counters of the last completed epoch, or None without a checkpoint."""
    path = Path(directory) / STATE_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def load_checkpoint(directory, model, optimizer, best_model) -> dict | None:
    """Restore a checkpoint into built model/optimizer; None when there is none."""
    directory = Path(directory)
    state = read_state(directory)
    if state is None:
        return None
    model.load_weights(directory / "last.weights.h5")
    best_model.load_weights(directory / "best.weights.h5")
    _load_arrays(directory / "optimizer.npz", optimizer.variables)
    _load_arrays(directory / "random.npz", random_states(model))
    return state


def _save_arrays(path: Path, variables) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, *[np.asarray(v) for v in variables])


def _load_arrays(path: Path, variables) -> None:
    with np.load(path) as saved:
        values = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    for variable, value in zip(variables, values, strict=True):
        variable.assign(value)
