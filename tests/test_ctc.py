"""CTC loss, collapse rule and decoding on hand-worked examples. Classes: 0 = blank, 1 = a, 2 = b."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import math

import numpy as np
import pytest
from keras import ops

from asr.decoding.ctc import beam_decode, collapse_ctc_path, decode, greedy_decode
from asr.errors import UserError
from asr.model.loss import ctc_loss
from asr.text.labels import steps_needed
from asr.text.vocab import Vocabulary

# Two steps, per-step probabilities over [blank, a, b].
STEP_PROBS = np.array([[0.5, 0.3, 0.2], [0.6, 0.1, 0.3]], dtype="float32")


def loss_of(labels, probs, label_lengths, logit_lengths):
    """ctc_loss on probabilities given as nested lists/arrays; returns a numpy (batch,) array."""
    log_probs = np.log(np.asarray(probs, dtype="float32"))
    labels = np.asarray(labels, dtype="int32")
    return ops.convert_to_numpy(ctc_loss(labels, log_probs, np.array(label_lengths), np.array(logit_lengths)))


def test_uniform_two_steps_label_a_is_ln3():
    # paths "a _", "_ a", "a a", each (1/3)^2: total 1/3, loss ln 3
    probs = np.full((1, 2, 3), 1 / 3)
    assert loss_of([[1]], probs, [1], [2]) == pytest.approx([math.log(3)], abs=1e-5)


def test_non_uniform_hand_computed_losses():
    # "a": a a = .3*.1, a _ = .3*.6, _ a = .5*.1 -> .26.  "ab": only a b = .3*.3 = .09.
    probs = np.stack([STEP_PROBS, STEP_PROBS])
    losses = loss_of([[1, 0], [1, 2]], probs, [1, 2], [2, 2])
    assert losses == pytest.approx([-math.log(0.26), -math.log(0.09)], abs=1e-5)


def test_true_repeat_needs_a_blank_between():
    # "aa" in three steps has exactly one path, a _ a
    probs = np.array([[[0.5, 0.3, 0.2], [0.6, 0.1, 0.3], [0.2, 0.7, 0.1]]])
    assert loss_of([[1, 1]], probs, [2], [3]) == pytest.approx([-math.log(0.3 * 0.6 * 0.7)], abs=1e-5)


def test_unnormalised_scores_give_the_same_loss_as_log_probs():
    # ctc_loss log-softmaxes its input itself: shifting each step by a constant
    # (turning log-probs into unnormalised logits) must not change the loss.
    log_probs = np.log(STEP_PROBS)[None]
    shifted = log_probs + np.array([[[3.0], [-7.0]]], dtype="float32")
    args = (np.array([[1]], "int32"), np.array([1]), np.array([2]))
    plain = ops.convert_to_numpy(ctc_loss(args[0], log_probs, *args[1:]))
    assert ops.convert_to_numpy(ctc_loss(args[0], shifted, *args[1:])) == pytest.approx(plain, abs=1e-5)
    assert plain == pytest.approx([-math.log(0.26)], abs=1e-5)


def test_padding_beyond_true_lengths_does_not_change_the_loss():
    # Same utterance as above ("a" over two steps, .26), padded to 5 steps with random
    # distributions and to 3 label slots with symbols that would change the label if read.
    rng = np.random.default_rng(0)
    noise = rng.dirichlet(np.ones(3), size=3).astype("float32")
    probs = np.concatenate([STEP_PROBS, noise])[None]  # (1, 5, 3)
    assert loss_of([[1, 2, 2]], probs, [1], [2]) == pytest.approx([-math.log(0.26)], abs=1e-5)
    assert loss_of([[1, 0, 0]], probs, [1], [2]) == pytest.approx([-math.log(0.26)], abs=1e-5)
    # ...and the padding really is there: reading it changes the result
    assert loss_of([[1, 2, 2]], probs, [1], [5]) != pytest.approx([-math.log(0.26)], abs=1e-3)


def test_impossible_alignment_is_inf_and_leaves_its_batch_mates_alone():
    # "aa" needs 3 steps (a _ a) and "aba" 3: over 2 steps neither has a path. TensorFlow's kernel
    # would fail the whole batch or call them loss 0; the third row ("a", ln 3) must still be right.
    probs = np.full((3, 2, 3), 1 / 3)
    losses = loss_of([[1, 1, 0], [1, 2, 1], [1, 0, 0]], probs, [2, 3, 1], [2, 2, 2])
    assert np.isinf(losses[:2]).all()
    assert losses[2] == pytest.approx(math.log(3), abs=1e-5)


def test_empty_label_is_the_all_blank_path():
    # One path, blank at every step: -ln(.5 * .6) over both steps, -ln(.5) over one.
    probs = np.stack([STEP_PROBS, STEP_PROBS])
    assert loss_of([[0], [0]], probs, [0, 0], [2, 1]) == pytest.approx([-math.log(0.3), -math.log(0.5)], abs=1e-5)
    assert loss_of(np.zeros((2, 0)), probs, [0, 0], [2, 1]) == pytest.approx([-math.log(0.3), -math.log(0.5)],
                                                                             abs=1e-5)


def test_equals_keras_ops_ctc_loss_on_random_batches():
    # The kernel path replaces keras.ops.ctc_loss (dense labels, quadratic in label length) for speed;
    # values must not move. Random labels of mixed lengths, repeats included, and random lengths.
    rng = np.random.default_rng(3)
    batch, steps, classes, width = 6, 40, 5, 12
    log_probs = np.log(rng.dirichlet(np.ones(classes), size=(batch, steps))).astype("float32")
    labels = rng.integers(1, classes, size=(batch, width)).astype("int32")
    label_lengths = rng.integers(1, width + 1, size=batch).astype("int32")
    logit_lengths = rng.integers(30, steps + 1, size=batch).astype("int32")
    ours = ops.convert_to_numpy(ctc_loss(labels, log_probs, label_lengths, logit_lengths))
    reference = ops.convert_to_numpy(ops.ctc_loss(labels, log_probs, label_lengths, logit_lengths, mask_index=0))
    assert ours == pytest.approx(reference, rel=1e-4)


@pytest.mark.parametrize(
    "path, expected",
    [
        ([1, 1, 0, 1, 2], [1, 1, 2]),  # a a _ a b -> "aab"
        ([1, 1, 1], [1]),  # repeats merge
        ([1, 0, 1], [1, 1]),  # a blank separates a true repeat
        ([0, 0, 0], []),  # all blank -> empty
        ([], []),
        ([0, 2, 0, 0, 2, 2, 1, 0], [2, 2, 1]),
    ],
)
def test_collapse_ctc_path(path, expected):
    assert collapse_ctc_path(path) == expected


def test_collapsed_path_reads_as_text():
    assert Vocabulary.from_characters("ab").decode(collapse_ctc_path([1, 1, 0, 1, 2])) == "aab"


def greedy_matrix():
    """Argmax path a a _ a b over 5 real steps, then 2 padding steps whose argmax is a, b."""
    hi, lo = 0.8, 0.1
    path = [1, 1, 0, 1, 2, 1, 2]
    probs = np.full((len(path), 3), lo, dtype="float32")
    probs[np.arange(len(path)), path] = hi
    return np.log(probs)


def test_greedy_decode_ignores_steps_past_each_length():
    log_probs = np.stack([greedy_matrix(), greedy_matrix()])  # (2, 7, 3)
    assert greedy_decode(log_probs, [5, 7]) == [[1, 1, 2], [1, 1, 2, 1, 2]]


def test_greedy_decode_matches_collapsed_argmax():
    rng = np.random.default_rng(1)
    log_probs = np.log(rng.dirichlet(np.ones(4), size=(3, 9))).astype("float32")
    lengths = [9, 4, 1]
    expected = [collapse_ctc_path(log_probs[i, :n].argmax(-1).tolist()) for i, n in enumerate(lengths)]
    assert greedy_decode(log_probs, lengths) == expected


def test_beam_search_beats_greedy_when_paths_split_the_mass():
    # Both steps [blank .4, a .35, b .25]. Greedy takes _ _ -> "" with probability .16, but
    # "a" collects a a + a _ + _ a = .1225 + .14 + .14 = .4025, more than any other label.
    log_probs = np.log(np.array([[[0.4, 0.35, 0.25]] * 2], dtype="float32"))
    assert greedy_decode(log_probs, [2]) == [[]]
    assert beam_decode(log_probs, [2], beam_width=4) == [[1]]
    loss_a = ops.convert_to_numpy(ctc_loss(np.array([[1]]), log_probs, np.array([1]), np.array([2])))
    assert loss_a == pytest.approx([-math.log(0.4025)], abs=1e-5)


def test_beam_decode_ignores_steps_past_each_length():
    log_probs = np.stack([greedy_matrix(), greedy_matrix()])
    assert beam_decode(log_probs, [5, 7], beam_width=8) == [[1, 1, 2], [1, 1, 2, 1, 2]]


def test_decode_dispatches_and_names_unknown_strategies():
    log_probs = np.log(np.array([[[0.4, 0.35, 0.25]] * 2], dtype="float32"))
    assert decode(log_probs, [2], "greedy") == [[]]
    assert decode(log_probs, [2], "beam", beam_width=4) == [[1]]
    with pytest.raises(UserError, match="decode.strategy must be 'greedy' or 'beam', got 'x'"):
        decode(log_probs, [2], "x")


@pytest.mark.parametrize(
    "text, steps",
    [("hello", 6), ("", 0), ("a", 1), ("abc", 3), ("aaa", 5), ("aab", 4)],
)
def test_alignment_steps_needed(text, steps):
    assert steps_needed(Vocabulary.from_characters("abcehlo").encode(text)) == steps


def test_alignment_steps_needed_is_the_boundary_ctc_sees():
    # "aa" needs 3 steps: possible (small loss) with 3, impossible (~707) with 2
    probs = np.full((1, 3, 3), 1 / 3)
    needed = steps_needed([1, 1])
    assert loss_of([[1, 1]], probs, [2], [needed]) == pytest.approx([3 * math.log(3)], abs=1e-5)
    assert loss_of([[1, 1]], probs, [2], [needed - 1])[0] > 700
