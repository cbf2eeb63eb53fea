"""Manifests as people write them: odd quoting, stray commas, formulas, huge numbers, odd file names.

A bad line is rejected with its line number and reason, the good ones are used, and the CSVs the
project writes for people stay parseable and open safely in a spreadsheet.
"""

import csv
import os
from collections import Counter

import pandas as pd
import pytest

from asr.csvio import read_rows, read_text_table, readable, spreadsheet_safe
from asr.errors import TextError
from asr.text.labels import label_split
from asr.text.normalise import normalise_text
from asr.text.vocab import Vocabulary
from tests.corpus_fixtures import tone, write_audio
from tests.test_prepare_stage import prepare

LATIN1_NAME = "caf\xe9".encode("latin-1") + b".wav"  # a file name that is not UTF-8


def written_by_hand(root):
    """A CSV manifest with good rows between bad ones; returns the good rows' ids."""
    for name in ("a", "b", "c", "=cmd", "tab\tname", "new\nline"):
        write_audio(root / f"{name}.wav", tone(16000, 4000, 300), 16000)
    write_audio(root / "latin1.wav", tone(16000, 4000, 300), 16000)
    os.rename(root / "latin1.wav", os.path.join(os.fsencode(root), LATIN1_NAME))
    lines = [
        b"path,text,split",
        b"a.wav,one,train",                                  # 2: good
        b'b.wav,"Hello," she said,train',                    # 3: a field starting with a quote, then more
        b"c.wav,hello, world,train",                         # 4: an unquoted comma
        b"=cmd.wav,=1+2,train",                              # 5: formula-like cells: fine as data
        b'"tab\tname.wav",two,train',                        # 6: a tab in a file name
        b'"new\nline.wav",three,train',                      # 7-8: a newline in a quoted file name
        LATIN1_NAME + b",four,train",                        # 9: a file name that is not UTF-8
        b"a.wav,caf\xe9,dev",                                # 10: a transcript that is not UTF-8
        b"=missing.wav,=SUM(A1),train",                      # 11: a formula-like id in rejected.csv
        b'c.wav,"never closed,train',                        # 12: a quote that runs to the end of the file
        b"b.wav,five,test",
    ]
    (root / "set.csv").write_bytes(b"\n".join(lines) + b"\n")


def test_read_rows_sets_bad_lines_aside_with_their_numbers(tmp_path):
    written_by_hand(tmp_path)
    rows, problems = read_rows(tmp_path / "set.csv", text_columns=("text",))
    assert rows["line"].tolist() == [2, 5, 6, 7, 9, 11]
    assert rows["path"].tolist()[3] == "new\nline.wav" and os.fsencode(rows["path"].tolist()[4]) == LATIN1_NAME
    reasons = dict(problems)
    assert reasons[3].startswith("bad quoting")
    assert reasons[4] == "4 fields where the header has 3 (an unquoted separator? put the field in double quotes)"
    assert reasons[10] == "column text is not UTF-8 text"
    assert reasons[12].startswith("bad quoting") and "from line 12 to line 13" in reasons[12]  # the last line is swallowed, and said so


def test_prepare_rejects_bad_lines_with_their_number_and_converts_the_rest(tmp_path):
    root = tmp_path / "corpus"
    written_by_hand(root)
    result = prepare(tmp_path, "data=manifest", f"data.root={root / 'set.csv'}")
    assert result.returncode == 0, result.stderr
    out = tmp_path / "prepared"
    train = read_text_table(out / "train.csv")
    assert sorted(train["text"]) == ["=1+2", "four", "one", "three", "two"]  # data keeps its text as written
    assert all(c.isprintable() for i in train["id"] for c in i)  # ids from odd file names: one CSV cell each
    with open(out / "rejected.csv", newline="", encoding="utf-8") as handle:  # parseable, UTF-8, one row a line
        rejected = list(csv.DictReader(handle))
    reasons = {r["id"]: r["reason"] for r in rejected}
    assert set(reasons) == {"line 3", "line 4", "line 10", "line 12", "'=missing"}  # neutralised for spreadsheets
    assert reasons["'=missing"] == "audio file not found"
    assert all(r["source"].endswith(f"set.csv:{r['id'][5:]}") for r in rejected if r["id"].startswith("line"))


def test_cells_a_spreadsheet_would_run_are_neutralised_in_outputs_for_people(tmp_path):
    frame = pd.DataFrame({"id": ["=1+2", "+x", "-x", "@SUM(A1)", "plain", "caf\udce9", "a\tb"], "cer": [-0.5, 0, 1, 2, 3, 4, 5]})
    path = tmp_path / "out.csv"
    spreadsheet_safe(frame).to_csv(path, index=False)
    back = read_text_table(path, floats=["cer"])
    assert back["id"].tolist() == ["'=1+2", "'+x", "'-x", "'@SUM(A1)", "plain", "caf\\xe9", "a\\tb"]
    assert back["cer"].tolist() == frame["cer"].tolist()  # numbers are not text: left alone
    assert frame["id"][0] == "=1+2"  # a copy: the data itself is untouched
    assert readable("new\nline.wav") == "new\\nline.wav"


@pytest.mark.parametrize("text", ["9" * 400, "1" * 5000, "9" * 400 + ".5", "the " + "9" * 320 + "th"])
def test_a_number_too_long_to_say_is_a_text_error_with_its_reason(text):
    with pytest.raises(TextError, match="number too long to say"):
        normalise_text(text)


def test_labels_drop_an_utterance_whose_text_cannot_be_normalised_and_keep_the_rest():
    manifest = pd.DataFrame([dict(id="u1", text="one " + "9" * 400, split="train", speaker="s", duration="1"),
                             dict(id="u2", text="Room 101", split="train", speaker="s", duration="1")])
    labels, dropped, _ = label_split(manifest, {"u1": 500, "u2": 500}, Vocabulary.from_characters(" abcdefghijklmnopqrstuvwxyz'"),
                                     "drop_char")
    assert labels["text"].tolist() == ["room one hundred and one"]
    assert dropped[0]["id"] == "u1" and dropped[0]["reason"].startswith("cannot normalise the transcript: number too long")
