"""Output formats of `asr transcribe --format` on hand-worked word timings: cues cut at pauses, exact documents."""

import io
import os
import stat
import sys
from pathlib import Path

import pytest
import srt
import webvtt

from asr.app.formats import FORMATS
from asr.app.formats.segments import Segment, cut_at_pauses
from asr.app.inputs import Input, copy_of_stdin
from asr.app.outputs import check_output_directory, output_paths, write_output
from asr.errors import AudioError, UserError

# "the cat" with 0.12 s between the words, then 0.62 s of pause before "sat": two cues.
WORDS = [dict(word="the", start=0.12, end=0.30), dict(word="cat", start=0.42, end=0.78),
         dict(word="sat", start=1.40, end=1.71)]
RECORD = dict(path="a.wav", text="the cat sat", duration=2.0, seconds=0.1, chars=[], words=WORDS)


def word(text, start, end):
    return dict(word=text, start=start, end=end)


def test_a_pause_of_half_a_second_or_more_starts_a_new_cue():
    assert cut_at_pauses(WORDS) == [Segment(0.12, 0.78, "the cat"), Segment(1.40, 1.71, "sat")]
    # exactly 0.5 s apart: a pause; 0.49 s: not
    assert len(cut_at_pauses([word("a", 0.0, 1.0), word("b", 1.5, 2.0)])) == 2
    assert len(cut_at_pauses([word("a", 0.0, 1.0), word("b", 1.49, 2.0)])) == 1
    assert cut_at_pauses([]) == []


def test_a_cue_longer_than_seven_seconds_or_84_characters_is_cut_between_words():
    # ten words of 0.9 s, 0.1 s apart: words 0-6 end at 6.9 s; word 7 would end the cue at 7.9 s
    steady = [word(f"w{k}", k, k + 0.9) for k in range(10)]
    assert [(s.start, s.end) for s in cut_at_pauses(steady)] == [(0, 6.9), (7, 9.9)]
    # "aaaa bbbb" is 9 characters; adding " cccc" makes 14, over 10
    close = [word("aaaa", 0, 0.1), word("bbbb", 0.2, 0.3), word("cccc", 0.4, 0.5)]
    assert [s.text for s in cut_at_pauses(close, max_characters=10)] == ["aaaa bbbb", "cccc"]
    # a word longer than the limit is a cue of its own, never dropped
    assert [s.text for s in cut_at_pauses([word("a" * 12, 0, 1)], max_characters=10)] == ["a" * 12]


def test_srt_document_by_hand_and_parsed_by_the_srt_library():
    document = FORMATS["srt"].render(RECORD)
    assert document == ("1\n00:00:00,120 --> 00:00:00,780\nthe cat\n\n"
                        "2\n00:00:01,400 --> 00:00:01,710\nsat\n\n")
    cues = list(srt.parse(document))
    assert [(c.start.total_seconds(), c.end.total_seconds(), c.content) for c in cues] == [
        (0.12, 0.78, "the cat"), (1.40, 1.71, "sat")]


def test_vtt_document_by_hand_and_parsed_by_webvtt_py():
    document = FORMATS["vtt"].render(RECORD)
    assert document == ("WEBVTT\n\n00:00:00.120 --> 00:00:00.780\nthe cat\n\n"
                        "00:00:01.400 --> 00:00:01.710\nsat\n")
    cues = webvtt.from_string(document).captions
    assert [(c.start, c.end, c.text) for c in cues] == [("00:00:00.120", "00:00:00.780", "the cat"),
                                                        ("00:00:01.400", "00:00:01.710", "sat")]
    at_an_hour = [word("late", 3723.457, 3724.0)]  # 1 h 2 min 3.457 s
    assert "01:02:03.457 --> 01:02:04.000" in FORMATS["vtt"].render(dict(RECORD, words=at_an_hour))


def test_long_cue_text_is_wrapped_into_lines_of_42_characters():
    words = [word("abcdefghi", 0.6 * k, 0.6 * k + 0.5) for k in range(6)]  # 6 x 9 letters + 5 spaces: 59 characters
    [cue] = srt.parse(FORMATS["srt"].render(dict(RECORD, words=words)))
    assert cue.content.split("\n") == ["abcdefghi " * 3 + "abcdefghi", "abcdefghi abcdefghi"]


def test_txt_tsv_and_json_documents():
    assert FORMATS["txt"].render(RECORD) == "the cat sat\n"
    assert FORMATS["tsv"].render(RECORD) == "start\tend\ttext\n0.120\t0.780\tthe cat\n1.400\t1.710\tsat\n"
    assert FORMATS["json"].render(RECORD).count("\n") == 1  # one JSON line per input, as --json prints
    assert not FORMATS["txt"].needs_timings and all(FORMATS[f].needs_timings for f in ("tsv", "json", "srt", "vtt"))


def test_output_files_are_named_after_their_input_and_clashes_are_refused(tmp_path):
    inputs = [Input(Path("x/talk.wav"), "x/talk.wav", Path("talk.wav")),
              Input(Path("d/a/b.flac"), "d/a/b.flac", Path("a/b.flac")),  # found in directory d
              Input(Path("/tmp/copy"), "-", Path("stdin"))]
    assert output_paths(inputs, tmp_path, ".srt") == [tmp_path / "talk.srt", tmp_path / "a/b.srt", tmp_path / "stdin.srt"]
    clash = [Input(Path("x/talk.wav"), "x/talk.wav", Path("talk.wav")),
             Input(Path("y/talk.flac"), "y/talk.flac", Path("talk.flac"))]
    with pytest.raises(UserError, match="x/talk.wav and y/talk.flac would both be written to .*talk.vtt"):
        output_paths(clash, tmp_path, ".vtt")


def test_an_output_directory_that_cannot_be_written_is_refused_with_its_reason(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="file: not a directory"):
        check_output_directory(tmp_path / "file")
    with pytest.raises(UserError, match=r"file/sub: cannot write there \(Not a directory\)"):
        check_output_directory(tmp_path / "file" / "sub")
    check_output_directory(tmp_path / "new" / "dir")
    assert (tmp_path / "new" / "dir").is_dir() and not any((tmp_path / "new" / "dir").iterdir())


def test_written_files_have_the_mode_of_any_new_file(tmp_path):
    write_output(tmp_path / "sub" / "a.srt", "text\n")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "sub" / "a.srt").read_text() == "text\n"
    assert stat.S_IMODE((tmp_path / "sub" / "a.srt").stat().st_mode) == 0o666 & ~umask
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["a.srt"]  # no temporary file left


def test_standard_input_from_a_terminal_or_closed_is_refused_not_waited_for(monkeypatch):
    leader, follower = os.openpty()  # a real terminal: reading it would wait for someone to type
    terminal = io.TextIOWrapper(open(follower, "rb"))
    monkeypatch.setattr(sys, "stdin", terminal)
    with pytest.raises(AudioError, match="standard input is a terminal, not audio"):
        with copy_of_stdin():
            pass
    terminal.close()
    os.close(leader)
    monkeypatch.setattr(sys, "stdin", None)  # started with standard input closed
    with pytest.raises(AudioError, match="no standard input"):
        with copy_of_stdin():
            pass
