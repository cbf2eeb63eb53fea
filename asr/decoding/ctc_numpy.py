"""CTC greedy and beam decoding in NumPy alone, for the ONNX path, which must not load TensorFlow.

Both follow what `keras.ops.ctc_decode` runs on the TensorFlow backend (blank = index 0), so an exported
model decodes to the same text as the Keras model: greedy is the best class per step, collapsed;
`beam_paths` is a port of TensorFlow's CTCBeamSearchDecoder (core/util/ctc/ctc_beam_search.h) with its
default scorer, including its quirks (scores from the per-step max-shifted inputs, a child's score
restarted when it re-enters the beam). tests/test_export.py checks both against keras on real outputs.
"""

import math
from collections.abc import Sequence

import numpy as np

from asr.errors import UserError
from asr.text.vocab import BLANK_INDEX

STRATEGIES = ("greedy", "beam")
LOG_ZERO = -math.inf


def collapse_ctc_path(path: Sequence[int], blank: int = BLANK_INDEX) -> list[int]:
    """Apply the CTC collapse rule: merge repeated symbols, then drop blanks ([1,1,0,1,2] -> [1,1,2])."""
    collapsed = []
    previous = None
    for symbol in path:
        if symbol != previous and symbol != blank:
            collapsed.append(int(symbol))
        previous = symbol
    return collapsed


def greedy_paths(log_probs: np.ndarray, lengths) -> list[list[int]]:
    """Best class per step of (batch, steps, classes) log-probs up to each length, collapsed."""
    best = np.asarray(log_probs).argmax(-1)  # (batch, steps); ties take the lower index, as TensorFlow's kernel
    return [collapse_ctc_path(best[k, :n].tolist()) for k, n in enumerate(np.asarray(lengths))]


def _log_sum_exp(a: float, b: float) -> float:
    if a == LOG_ZERO:
        return b
    if b == LOG_ZERO:
        return a
    return a + math.log1p(math.exp(b - a)) if a > b else b + math.log1p(math.exp(a - b))


class _Beam:
    """A node of the prefix tree: a label sequence and its (blank, label, total) log-probabilities now and a step ago."""

    __slots__ = ("parent", "label", "children", "old", "new")

    def __init__(self, parent, label: int):
        self.parent, self.label, self.children = parent, label, {}
        self.old = [LOG_ZERO, LOG_ZERO, LOG_ZERO]  # blank, label, total at t - 1
        self.new = [LOG_ZERO, LOG_ZERO, LOG_ZERO]  # at t

    def active(self) -> bool:
        return self.new[2] != LOG_ZERO

    def labels(self) -> list[int]:
        path, node = [], self
        while node.parent is not None:
            path.append(node.label)
            node = node.parent
        return path[::-1]


def _beam_search(log_probs: np.ndarray, beam_width: int) -> list[int]:
    """One utterance's (steps, classes) log-probs -> the most probable label sequence (blank = 0)."""
    root = _Beam(None, -1)
    root.new = [0.0, LOG_ZERO, 0.0]
    leaves = [root]

    def bottom():
        return min(leaves, key=lambda e: e.new[2])

    def is_candidate(p):
        return p[2] > LOG_ZERO and (len(leaves) < beam_width or p[2] > bottom().new[2])

    for row in log_probs:
        row = (row - row.max()).tolist()  # float32 shift as the kernel does, then Python floats
        blank = row[BLANK_INDEX]
        branches = sorted(leaves, key=lambda e: -e.new[2])  # descending, as TopN::Extract
        for b in branches:
            b.old = list(b.new)
        leaves = []
        for b in branches:
            if b.parent is not None:
                if b.parent.active():
                    previous = b.parent.old[0] if b.label == b.parent.label else b.parent.old[2]
                    b.new[1] = _log_sum_exp(b.new[1], previous)
                b.new[1] += row[b.label]
            b.new[0] = b.old[2] + blank
            b.new[2] = _log_sum_exp(b.new[0], b.new[1])
            leaves.append(b)
        for b in branches:
            if not is_candidate(b.old):
                continue
            for label in range(len(row)):
                if label == BLANK_INDEX:
                    continue  # labels in TensorFlow's order: the kernel sees blank moved last
                child = b.children.get(label)
                if child is None:
                    child = b.children[label] = _Beam(b, label)
                if child.active():
                    continue
                previous = b.old[0] if label == b.label else b.old[2]
                child.new = [LOG_ZERO, row[label] + previous, row[label] + previous]
                if is_candidate(child.new):
                    if len(leaves) == beam_width:
                        dropped = bottom()  # no longer in the beam: its probability is reset
                        dropped.new = [LOG_ZERO, LOG_ZERO, LOG_ZERO]
                        leaves.remove(dropped)
                    leaves.append(child)
                else:
                    child.old = [LOG_ZERO, LOG_ZERO, LOG_ZERO]
                    child.new = [LOG_ZERO, LOG_ZERO, LOG_ZERO]
    return max(leaves, key=lambda e: e.new[2]).labels()


def beam_paths(log_probs: np.ndarray, lengths, beam_width: int) -> list[list[int]]:
    """Prefix beam search over (batch, steps, classes) log-probs; the most probable label per utterance."""
    if beam_width < 1:
        raise UserError(f"decode.beam_width must be >= 1, got {beam_width}")
    log_probs = np.asarray(log_probs, dtype=np.float32)
    return [_beam_search(log_probs[k, :n], beam_width) for k, n in enumerate(np.asarray(lengths))]


def decode_numpy(log_probs: np.ndarray, lengths, strategy: str, beam_width: int = 1) -> list[list[int]]:
    """Decode with `strategy` ('greedy' or 'beam'), as asr.decoding.ctc.decode does through keras."""
    if strategy not in STRATEGIES:
        raise UserError(f"decode.strategy must be 'greedy' or 'beam', got {strategy!r}")
    if strategy == "greedy":
        return greedy_paths(log_probs, lengths)
    return beam_paths(log_probs, lengths, beam_width)
