"""Images for `dvc plots`: posteriorgrams (time x characters) of decoded utterances."""

import matplotlib

matplotlib.use("Agg")  # no display on a build machine

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from asr.atomic import atomic_path  # noqa: E402
from asr.text.vocab import Vocabulary  # noqa: E402


def save_posteriorgram(path, log_probs: np.ndarray, vocab: Vocabulary, reference: str, hypothesis: str,
                       step_seconds: float) -> None:
    """Heatmap of per-step character probabilities (steps, classes), reference and hypothesis in the title."""
    labels = ["_" if i == 0 else ("␣" if ch == " " else ch) for i, ch in enumerate(["_", *vocab.characters])]
    fig, ax = plt.subplots(figsize=(max(6.0, len(log_probs) * 0.08), 5.5))
    ax.imshow(np.exp(log_probs).T, aspect="auto", origin="lower", cmap="magma", vmin=0, vmax=1,
              extent=(0, len(log_probs) * step_seconds, -0.5, len(labels) - 0.5))
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("character (_ = blank)")
    ax.set_title(f"ref: {reference}\nhyp: {hypothesis}", fontsize=9, loc="left")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=80)
    plt.close(fig)


def save_learning_curve(path, curve, columns: dict) -> None:
    """CER against training hours: one line per `columns` item (curve column -> legend label)."""
    fig, ax = plt.subplots(figsize=(6.5, 4.0))
    for column, label in columns.items():
        if column in curve:
            ax.plot(curve["train_hours"], 100 * curve[column], marker="o", markersize=3, label=label)
    ax.set_xlabel("training hours (2 CPU cores)")
    ax.set_ylabel("CER (%), greedy")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
