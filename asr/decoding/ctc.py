"""CTC decoding over per-step log-probabilities, blank = index 0 (see asr.text.vocab).

keras.ops.ctc_decode documents its input as unnormalised logits; on the TensorFlow backend it
applies a (log-)softmax itself. log_softmax of log-probabilities is the identity, so the model's
log-probabilities can be passed as they are (tests/test_ctc.py checks this).
"""

import numpy as np
from keras import ops

from asr.decoding.ctc_numpy import STRATEGIES, collapse_ctc_path  # noqa: F401 (collapse_ctc_path lived here)
from asr.errors import UserError
from asr.text.vocab import BLANK_INDEX


def _ctc_decode(log_probs, lengths, strategy: str, beam_width: int) -> list[list[int]]:
    # keras returns (top_paths, batch, steps) ids padded with -1; keep the best path only.
    decoded, _scores = ops.ctc_decode(
        np.asarray(log_probs, dtype="float32"),
        np.asarray(lengths, dtype="int32"),
        strategy=strategy,
        beam_width=beam_width,
        top_paths=1,
        mask_index=BLANK_INDEX,
    )
    best = ops.convert_to_numpy(decoded)[0]  # (batch, steps)
    return [[int(i) for i in row if i >= 0] for row in best]


def greedy_decode(log_probs: np.ndarray, lengths) -> list[list[int]]:
    """Best-path decoding of (batch, steps, classes) log-probs; steps past each length are ignored."""
    return _ctc_decode(log_probs, lengths, "greedy", beam_width=1)


def beam_decode(log_probs: np.ndarray, lengths, beam_width: int) -> list[list[int]]:
    """Prefix beam search over (batch, steps, classes) log-probs; returns the most probable label per utterance."""
    if beam_width < 1:
        raise UserError(f"decode.beam_width must be >= 1, got {beam_width}")
    return _ctc_decode(log_probs, lengths, "beam_search", beam_width=beam_width)


def decode(log_probs: np.ndarray, lengths, strategy: str, beam_width: int = 1) -> list[list[int]]:
    """Decode with `strategy` ('greedy' or 'beam', as in conf/decode/*.yaml)."""
    if strategy not in STRATEGIES:
        raise UserError(f"decode.strategy must be 'greedy' or 'beam', got {strategy!r}")
    if strategy == "greedy":
        return greedy_decode(log_probs, lengths)
    return beam_decode(log_probs, lengths, beam_width)
