"""CTC forced alignment (Viterbi): when each character of a decoded text is spoken."""

import numpy as np

from asr.text.vocab import BLANK_INDEX


def ctc_align(log_probs: np.ndarray, label: list[int]) -> list[tuple[int, int]]:
    """Most probable CTC path for `label` through (steps, classes) log-probs.

    Returns one (first_step, last_step) pair per label symbol. Works for any decoder's output
    (greedy or beam), so timings always belong to the text that is printed.
    """
    steps = len(log_probs)
    if not label:
        return []
    # Extended label: blank, l1, blank, l2, ..., blank  -> states (2L + 1,)
    states = np.full(2 * len(label) + 1, BLANK_INDEX)
    states[1::2] = label
    num_states = len(states)
    score = np.full((steps, num_states), -np.inf)
    back = np.zeros((steps, num_states), np.int8)  # 0: stay, 1: from s-1, 2: from s-2
    score[0, 0] = log_probs[0, states[0]]
    score[0, 1] = log_probs[0, states[1]]
    can_skip = np.zeros(num_states, bool)
    can_skip[2:] = (states[2:] != BLANK_INDEX) & (states[2:] != states[:-2])
    for t in range(1, steps):
        stay = score[t - 1]
        step = np.concatenate([[-np.inf], score[t - 1, :-1]])
        skip = np.where(can_skip, np.concatenate([[-np.inf, -np.inf], score[t - 1, :-2]]), -np.inf)
        options = np.stack([stay, step, skip])  # (3, states)
        back[t] = options.argmax(axis=0)
        score[t] = options.max(axis=0) + log_probs[t, states]
    end = num_states - 1 if score[-1, -1] >= score[-1, -2] else num_states - 2
    if not np.isfinite(score[-1, end]):
        return []  # too few steps for this label
    path = np.empty(steps, int)
    state = end
    for t in range(steps - 1, -1, -1):
        path[t] = state
        state -= back[t, state]
    spans = []
    for k in range(len(label)):
        where = np.flatnonzero(path == 2 * k + 1)
        spans.append((int(where[0]), int(where[-1])))
    return spans


def word_timings(text: str, spans: list[tuple[int, int]], step_seconds: float, offset: float = 0.0):
    """Per-character start times and per-word (start, end) in seconds from aligned spans."""
    chars = [dict(char=ch, start=round(offset + a * step_seconds, 3)) for ch, (a, _) in zip(text, spans)]
    words, current = [], None
    for ch, (a, b) in zip(text, spans):
        if ch == " ":
            current = None
            continue
        if current is None:
            current = dict(word="", start=round(offset + a * step_seconds, 3))
            words.append(current)
        current["word"] += ch
        current["end"] = round(offset + (b + 1) * step_seconds, 3)
    return chars, words
