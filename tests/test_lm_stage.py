"""Stage `lm` on the tiny corpus: no dev or test sentence reaches the LM, and the files load for decoding."""

from pathlib import Path

import pandas as pd
import pytest

from asr.decoding.lexicon_beam import LexiconBeamDecoder
from asr.lm.corpus_text import lm_sentences
from asr.lm.lexicon import read_lexicon
from asr.errors import UserError
from asr.text.vocab import Vocabulary
from tests.conftest import run_stage


def test_lm_sentences_keep_first_seen_order_and_drop_held_out_ones():
    got = lm_sentences(["a b", "c d", "a b"], ["e f", "g h", "c d"], ["g h", "x y"])
    assert got == ["a b", "c d", "e f"]  # "a b" and "c d" once, "g h" is a held-out sentence
    with pytest.raises(UserError, match="no sentences"):
        lm_sentences(["x y"], [], ["x y"])


def test_no_dev_or_test_sentence_reaches_the_lm_text(tiny_data, tmp_path):
    from stages import lm

    cfg, root = tiny_data
    cfg = cfg.copy()
    labels = Path(cfg.paths.labels)
    held_out = [pd.read_csv(labels / f"{s}.csv", dtype=str, keep_default_na=False)["text"][0] for s in ("dev", "test")]
    extra = tmp_path / "extra.txt"
    # The user's text holds a dev and a test sentence (written as people write them) and one of its own.
    extra.write_text(f"{held_out[0].upper()}.\n{held_out[1]}!\nthe cat sat on the mat\n")
    cfg.lm.text, cfg.lm.wordnet, cfg.paths.lm = str(extra), False, str(tmp_path / "lm")
    run_stage(lm, cfg)
    text = (tmp_path / "lm" / "text.txt").read_text().splitlines()
    train = pd.read_csv(labels / "train.csv", dtype=str, keep_default_na=False)["text"].tolist()
    assert "the cat sat on the mat" in text and set(train) <= set(text)
    assert not set(held_out) & set(text)
    lexicon = read_lexicon(tmp_path / "lm" / "lexicon.txt")
    assert "cat" in lexicon and lexicon["cat"] == ["c", "a", "t", "|"]
    vocab = Vocabulary.load(labels / "vocab.json")
    LexiconBeamDecoder(vocab, tmp_path / "lm" / "words.arpa", tmp_path / "lm" / "lexicon.txt")  # loads


def test_held_out_labels_keep_another_corpus_dev_and_test_sentences_out(tiny_data, tmp_path):
    from stages import lm

    cfg, root = tiny_data
    cfg = cfg.copy()
    other = tmp_path / "other_labels"  # another corpus's labels: the base preset's default test split
    other.mkdir()
    for split, text in (("dev", "a dog ran far"), ("test", "the cat sat on the mat")):
        pd.DataFrame({"id": [f"{split}1"], "text": [text]}).to_csv(other / f"{split}.csv", index=False)
    extra = tmp_path / "extra.txt"
    extra.write_text("the cat sat on the mat\na dog ran far\nbirds sing at dawn\n")
    cfg.lm.text, cfg.lm.wordnet, cfg.paths.lm = str(extra), False, str(tmp_path / "lm")
    cfg.lm.held_out_labels = [str(other)]
    run_stage(lm, cfg)
    text = (tmp_path / "lm" / "text.txt").read_text().splitlines()
    assert "birds sing at dawn" in text
    assert "the cat sat on the mat" not in text and "a dog ran far" not in text

    cfg.lm.held_out_labels = [str(tmp_path / "nowhere")]
    with pytest.raises(UserError, match="nowhere/dev.csv is missing"):
        run_stage(lm, cfg)
