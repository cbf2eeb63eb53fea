"""N-gram LM estimation, the lexicon, and LM beam decoding, on hand-worked examples.

Kneser-Ney by hand for the corpus ["a b", "b"], order 2 (tokens <s> a b </s>, <s> b </s>):
- unigram adjusted counts = distinct left neighbours: a 1 ({<s>}), b 2 ({a, <s>}), </s> 1 ({b});
  bigrams keep raw counts: <s> a 1, a b 1, b </s> 2, <s> b 1. Too few counts for the discount
  formula at both orders, so the fallback D1 = 0.5, D2 = 1, D3+ = 1.5.
- unigrams: total 4, freed mass gamma() = (0.5 + 1 + 0.5) / 4 = 1/2, spread uniformly over
  V = {a, b, </s>, <unk>}: p(a) = 0.5/4 + 1/8 = 1/4, p(b) = 1/4 + 1/8 = 3/8, p(</s>) = 1/4, p(<unk>) = 1/8.
- bigrams: p(a|<s>) = 0.5/2 + 1/2 * 1/4 = 3/8, p(b|<s>) = 0.5/2 + 1/2 * 3/8 = 7/16,
  p(b|a) = 0.5/1 + 1/2 * 3/8 = 11/16, p(</s>|b) = 1/2 + 1/2 * 1/4 = 5/8; every backoff is 1/2.
"""

from itertools import groupby

import numpy as np
import pytest
from flashlight.lib.text.decoder.kenlm import KenLM
from flashlight.lib.text.dictionary import Dictionary, load_words

from asr.decoding.lexicon_beam import LexiconBeamDecoder, LexiconBeamSettings
from asr.errors import UserError
from asr.lm.lexicon import arpa_words, character_sentence, read_lexicon, write_lexicon
from asr.lm.ngram import FALLBACK_DISCOUNTS, adjust_counts, count_ngrams, estimate_arpa, kn_discounts, kneser_ney
from asr.text.vocab import Vocabulary

VOCAB = Vocabulary.from_characters(" abcdefghijklmnopqrstuvwxyz'")
# 56 sentences: "cat" follows "the" 6 times, "cot" appears once, after "a".
SENTENCES = [
    f"{first} {second}"
    for first in ["hello", "the", "we", "say", "a"]
    for second in ["world", "there", "is", "small", "big", "dog", "cat", "runs", "fast", "now"]
] + ["hello world"] * 2 + ["the cat"] * 3 + ["a cot"]


def test_kneser_ney_by_hand():
    model = kneser_ney(["a b", "b"], order=2)
    assert model.discounts == [FALLBACK_DISCOUNTS, FALLBACK_DISCOUNTS]
    assert model.probs[0] == pytest.approx({("a",): 1 / 4, ("b",): 3 / 8, ("</s>",): 1 / 4, ("<unk>",): 1 / 8})
    assert model.probs[1] == pytest.approx(
        {("<s>", "a"): 3 / 8, ("<s>", "b"): 7 / 16, ("a", "b"): 11 / 16, ("b", "</s>"): 5 / 8}
    )
    assert model.backoffs == pytest.approx({("<s>",): 1 / 2, ("a",): 1 / 2, ("b",): 1 / 2})


def test_adjusted_counts_count_distinct_left_extensions():
    # "c" occurs twice but always after "b": continuation count 1; "b c" follows two words.
    adjusted = adjust_counts(count_ngrams(["a b c", "d b c"], order=3))
    assert adjusted[0][("c",)] == 1
    assert adjusted[0][("b",)] == 2
    assert adjusted[1][("b", "c")] == 2
    assert adjusted[1][("<s>", "a")] == 1  # nothing precedes <s>: raw count
    assert adjusted[2][("a", "b", "c")] == 1  # highest order: raw count


def test_modified_discounts_chen_goodman():
    # t1..t4 = 10, 4, 2, 1: Y = 10/18 = 5/9; D1 = 1 - 2Y(4/10) = 5/9, D2 = 2 - 3Y(2/4) = 7/6, D3+ = 3 - 4Y(1/2) = 17/9
    counts = [1] * 10 + [2] * 4 + [3] * 2 + [4]
    assert kn_discounts(counts) == pytest.approx((5 / 9, 7 / 6, 17 / 9))
    assert kn_discounts([1, 1, 2, 3]) == FALLBACK_DISCOUNTS  # no count of 4: lmplz would refuse


def test_order_is_capped_by_the_longest_sentence(tmp_path):
    # "<s> b c </s>" has 4 tokens: no 5-grams exist, so the model stops at order 4.
    model = estimate_arpa(["a", "b c"], tmp_path / "lm.arpa", order=5)
    assert model.order == 4
    assert "ngram 4=1" in (tmp_path / "lm.arpa").read_text()


def test_empty_corpus_is_an_error_and_writes_nothing(tmp_path):
    with pytest.raises(UserError, match="no non-empty sentences"):
        estimate_arpa(["", "  "], tmp_path / "lm.arpa", order=3)
    assert list(tmp_path.iterdir()) == []


def test_arpa_loads_in_kenlm_and_is_normalised(tmp_path):
    model = estimate_arpa(SENTENCES, tmp_path / "lm.arpa", order=3)
    words = arpa_words(tmp_path / "lm.arpa")
    assert sorted(words) == sorted({w for s in SENTENCES for w in s.split()})
    dictionary = Dictionary(["<unk>", *words])
    lm = KenLM(str(tmp_path / "lm.arpa"), dictionary)
    start = lm.start(False)
    state, score = lm.score(start, dictionary.get_index("the"))
    assert 10**score == pytest.approx(model.probs[1][("<s>", "the")], rel=1e-5)
    # Seen, backed-off and unknown continuations of "<s> the", plus </s>, sum to one.
    total = sum(10 ** lm.score(state, i)[1] for i in range(dictionary.index_size())) + 10 ** lm.finish(state)[1]
    assert total == pytest.approx(1.0, abs=1e-4)


def test_lexicon_format_round_trips_through_flashlight(tmp_path):
    count = write_lexicon(["world", "hello", "hello", "<unk>", "don't"], tmp_path / "lexicon.txt", VOCAB.characters)
    assert count == 3
    assert (tmp_path / "lexicon.txt").read_text() == (
        "don't\td o n ' t |\nhello\th e l l o |\nworld\tw o r l d |\n"
    )
    assert load_words(str(tmp_path / "lexicon.txt"))["hello"] == [["h", "e", "l", "l", "o", "|"]]
    assert read_lexicon(tmp_path / "lexicon.txt")["world"] == ["w", "o", "r", "l", "d", "|"]


def test_lexicon_rejects_words_it_cannot_spell(tmp_path):
    with pytest.raises(UserError, match="'caf\u00e9'.*not in the vocabulary"):
        write_lexicon(["caf\u00e9"], tmp_path / "lexicon.txt", VOCAB.characters)
    assert not (tmp_path / "lexicon.txt").exists()


def test_character_sentence_marks_spaces():
    assert character_sentence(" hello  world ") == "h e l l o | w o r l d"


@pytest.fixture(scope="module")
def lm_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lm")
    estimate_arpa(SENTENCES, folder / "words.arpa", order=3)
    write_lexicon(arpa_words(folder / "words.arpa"), folder / "lexicon.txt", VOCAB.characters)
    estimate_arpa((character_sentence(s) for s in SENTENCES), folder / "chars.arpa", order=6)
    return folder


def emissions(steps: list[dict[str, float]]) -> np.ndarray:
    """(steps, classes) log-probs: the given probabilities ('_' = blank), 0.01 for every other class."""
    rows = np.full((len(steps), VOCAB.size), 0.01)
    for row, probs in zip(rows, steps):
        for ch, p in probs.items():
            row[0 if ch == "_" else VOCAB.encode(ch)[0]] = p
    return np.log(rows / rows.sum(axis=1, keepdims=True)).astype("float32")


def greedy(log_probs: np.ndarray) -> str:
    return VOCAB.decode([k for k, _run in groupby(log_probs.argmax(axis=1)) if k != 0])


# Greedy reads "helo wrld": the second l and the o of "world" lose to blank (0.3 against 0.6).
HELO_WRLD = emissions(
    [{"h": .9}, {"e": .9}, {"l": .9}, {"_": .9}, {"_": .6, "l": .3}, {"o": .9}, {" ": .9},
     {"w": .9}, {"_": .6, "o": .3}, {"r": .9}, {"l": .9}, {"d": .9}]
)


def test_lexicon_and_lm_recover_in_lexicon_words(lm_files):
    assert greedy(HELO_WRLD) == "helo wrld"
    decoder = LexiconBeamDecoder(VOCAB, lm_files / "words.arpa", lm_files / "lexicon.txt",
                                 LexiconBeamSettings(beam=50, lm_weight=1.0))
    assert decoder.decode(HELO_WRLD) == "hello world"


def test_lm_weight_picks_the_likelier_word(lm_files):
    # "the c?t": the acoustics slightly prefer "cot" (o .45, a .40); the LM has seen "the cat" often.
    the_cat = emissions([{"t": .9}, {"h": .9}, {"e": .9}, {" ": .9}, {"c": .9}, {"o": .45, "a": .4}, {"t": .9}])
    def decode(lm_weight):
        settings = LexiconBeamSettings(beam=50, lm_weight=lm_weight)
        return LexiconBeamDecoder(VOCAB, lm_files / "words.arpa", lm_files / "lexicon.txt", settings).decode(the_cat)
    assert decode(0.0) == "the cot"
    assert decode(2.0) == "the cat"


def test_lexicon_free_modes_return_text(lm_files):
    no_lm = LexiconBeamDecoder(VOCAB, settings=LexiconBeamSettings(beam=50, lm_weight=0.0))
    assert no_lm.decode(HELO_WRLD) == "helo wrld"  # beam search alone agrees with greedy here
    char_lm = LexiconBeamDecoder(VOCAB, lm_files / "chars.arpa", settings=LexiconBeamSettings(beam=50, lm_weight=1.0))
    text = char_lm.decode(HELO_WRLD)
    assert isinstance(text, str) and set(text) <= set(VOCAB.characters) and text


def test_decode_batch_ignores_padding(lm_files):
    decoder = LexiconBeamDecoder(VOCAB, lm_files / "words.arpa", lm_files / "lexicon.txt")
    padded = np.concatenate([HELO_WRLD, emissions([{"a": .9}] * 5)])  # 5 steps of junk past the true length
    batch = np.stack([padded, padded])
    assert decoder.decode_batch(batch, [len(HELO_WRLD), len(HELO_WRLD)]) == ["hello world", "hello world"]


def test_decoder_errors_name_the_problem(lm_files, tmp_path):
    decoder = LexiconBeamDecoder(VOCAB)
    with pytest.raises(UserError, match=r"log-probs must be \(steps, 29\)"):
        decoder.decode(np.zeros((3, 5), "float32"))
    with pytest.raises(UserError, match="word separator"):
        LexiconBeamDecoder(Vocabulary.from_characters("ab"))
    (tmp_path / "bad.arpa").write_text("not an arpa file\n")
    with pytest.raises(UserError, match="bad.arpa: cannot load"):
        LexiconBeamDecoder(VOCAB, tmp_path / "bad.arpa", lm_files / "lexicon.txt")
    with pytest.raises(UserError, match="decode.beam must be >= 1"):
        LexiconBeamSettings(beam=0)
