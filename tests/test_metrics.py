"""Hand-computed CER/WER, including the empty-reference conventions documented in asr/metrics.py."""

import pytest

from asr.metrics import character_error_rate, utterance_cer, utterance_wer, word_error_rate


def test_one_substitution_in_three_characters():
    assert utterance_cer("abc", "abd") == pytest.approx(1 / 3)
    assert character_error_rate(["abc"], ["abd"]) == pytest.approx(1 / 3)


def test_one_substituted_word_in_three():
    assert utterance_wer("the cat sat", "the cat sit") == pytest.approx(1 / 3)
    assert word_error_rate(["the cat sat"], ["the cat sit"]) == pytest.approx(1 / 3)


def test_inner_spaces_are_characters():
    # "a b" -> "ab": one deleted space out of three reference characters
    assert utterance_cer("a b", "ab") == pytest.approx(1 / 3)


def test_corpus_cer_is_total_edits_over_total_reference_characters():
    # "abc"->"abd": 1 substitution; "hello"->"hallo!": 1 substitution + 1 insertion.
    # 3 edits / 8 reference characters = 0.375, not the mean of 1/3 and 2/5 (0.3667).
    references, hypotheses = ["abc", "hello"], ["abd", "hallo!"]
    assert character_error_rate(references, hypotheses) == pytest.approx(3 / 8)


def test_corpus_wer_is_total_edits_over_total_reference_words():
    # "the cat sat"->"the cat": 1 deletion; "a dog"->"a big dog": 1 insertion; 2 / 5 words
    assert word_error_rate(["the cat sat", "a dog"], ["the cat", "a big dog"]) == pytest.approx(2 / 5)


def test_empty_hypothesis_is_all_deletions():
    assert utterance_cer("abc", "") == 1.0
    assert utterance_wer("the cat", "") == 1.0


def test_empty_reference_counts_insertions_over_one():
    assert utterance_cer("", "ab") == 2.0
    assert utterance_cer("", "") == 0.0
    assert utterance_wer("", "two words") == 2.0
    assert utterance_wer("", "") == 0.0


def test_empty_reference_in_a_corpus_adds_errors_but_no_length():
    # "" -> "xy": 2 insertions; "abc" -> "abc": 0 edits; 2 edits / 3 reference characters
    assert character_error_rate(["", "abc"], ["xy", "abc"]) == pytest.approx(2 / 3)
    assert character_error_rate(["", ""], ["", ""]) == 0.0
    assert word_error_rate(["", "one"], ["", "one"]) == 0.0


def test_mismatched_corpus_lengths_are_refused():
    with pytest.raises(ValueError, match="2 references but 1 hypotheses"):
        character_error_rate(["a", "b"], ["a"])
