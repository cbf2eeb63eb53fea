"""Resumable training state: weights, optimizer variables and loop counters after each epoch."""

import hashlib
import json
from pathlib import Path

import numpy as np

from asr.atomic import atomic_path, write_json

STATE_FILE = "state.json"


def run_fingerprint(settings: list[dict], data_files) -> str:
    """What a checkpoint must match to be resumed: the settings and the exact bytes of the training data."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for path in data_files:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:16]


def save_checkpoint(directory, model, optimizer, best_model, state: dict) -> None:
    """Write everything needed to continue after the last completed epoch (state.json last)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, net in (("last.weights.h5", model), ("best.weights.h5", best_model)):
        with atomic_path(directory / name) as tmp:
            net.save_weights(_h5(tmp))
            Path(_h5(tmp)).replace(tmp)
    with atomic_path(directory / "optimizer.npz") as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, *[np.asarray(v) for v in optimizer.variables])
    # state.json is written last: its presence means the files above are complete.
    write_json(directory / STATE_FILE, state)


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
    with np.load(directory / "optimizer.npz") as saved:
        values = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    for variable, value in zip(optimizer.variables, values, strict=True):
        variable.assign(value)
    return state


def _h5(path: Path) -> str:
    # Keras insists on the .weights.h5 suffix; write there, then move onto the temp name.
    return str(path) + ".weights.h5"
