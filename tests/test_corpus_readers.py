"""Corpus readers on tiny corpora built in each real layout, and audio conversion of their output."""

from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf

from asr.corpus.commonvoice import read_commonvoice
from asr.corpus.common import convert_utterances
from asr.corpus.librispeech import read_librispeech
from asr.corpus.ljspeech import read_ljspeech
from asr.corpus.manifest import read_manifest_corpus
from asr.corpus.readers import read_corpus
from asr.errors import UserError
from tests.corpus_fixtures import (make_commonvoice, make_librispeech, make_ljspeech, make_manifest_csv,
                                   make_manifest_tsv, noise_burst, tone, write_audio)


def summary(scan):
    """(id, audio file name, text, speaker, split) for each utterance, sorted by id."""
    return sorted((u.id, u.source.name, u.text, u.speaker, u.split) for u in scan.utterances)


def reasons(scan):
    return {r.id: r.reason for r in scan.rejected}


@pytest.fixture
def outside(tmp_path):
    """An audio file that exists but lies outside every dataset root."""
    return write_audio(tmp_path / "outside" / "stray.flac", noise_burst(1600), 16000, format="FLAC")


# --- LibriSpeech ---------------------------------------------------------------------------------

def test_librispeech_subset_folders_give_splits(tmp_path):
    scan = read_librispeech(make_librispeech(tmp_path / "LibriSpeech"))
    assert summary(scan) == [
        ("19-198-0000", "19-198-0000.flac", "NORTHANGER ABBEY", "19", "train"),
        ("19-198-0001", "19-198-0001.flac", "CHAPTER ONE", "19", "train"),
        ("26-495-0000", "26-495-0000.flac", "NO ONE WHO HAD EVER SEEN CATHERINE", "26", "train"),
        ("61-70968-0000", "61-70968-0000.flac", "HE BEGAN A CONFUSED COMPLAINT", "61", "test"),
        ("84-121123-0000", "84-121123-0000.flac", "GO DO YOU HEAR", "84", "dev"),
    ]
    assert scan.rejected == []


def test_librispeech_without_subsets_leaves_split_unset(tmp_path):
    scan = read_librispeech(make_librispeech(tmp_path / "ls", subsets=False))
    assert [(u.id, u.speaker, u.split) for u in sorted(scan.utterances, key=lambda u: u.id)] == [
        ("19-198-0000", "19", None), ("19-198-0001", "19", None), ("26-495-0000", "26", None),
        ("61-70968-0000", "61", None), ("84-121123-0000", "84", None)]


def test_librispeech_rejections(tmp_path, outside):
    root = make_librispeech(tmp_path / "ls")
    chapter = root / "train-clean-100" / "19" / "198"
    # 0000 loses its transcript line, 0001 gets a blank one, 0002 has no audio, 0003 links outside
    (chapter / "19-198.trans.txt").write_text("19-198-0001 \n19-198-0002 GHOST LINE\n19-198-0003 STRAY\n")
    (chapter / "19-198-0003.flac").symlink_to(outside)
    scan = read_librispeech(root)
    assert reasons(scan) == {"19-198-0000": "missing transcript", "19-198-0001": "missing transcript",
                             "19-198-0002": "audio file not found", "19-198-0003": "path outside dataset root"}
    assert len(scan.utterances) == 3


def test_librispeech_transcript_id_escaping_root_is_rejected(tmp_path, outside):
    root = make_librispeech(tmp_path / "ls")
    chapter = root / "dev-clean" / "84" / "121123"
    (chapter / "84-121123.trans.txt").write_text("../../../../outside/stray ESCAPE\n84-121123-0000 GO\n")
    assert reasons(read_librispeech(root)) == {"../../../../outside/stray": "path outside dataset root"}


def test_librispeech_empty_folder_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no LibriSpeech"):
        read_librispeech(tmp_path)


# --- LJSpeech ------------------------------------------------------------------------------------

def test_ljspeech_prefers_normalised_text(tmp_path):
    scan = read_ljspeech(make_ljspeech(tmp_path / "LJSpeech-1.1"))
    assert summary(scan) == [
        ("LJ001-0001", "LJ001-0001.wav", "Printing, in fourteen seventy-six, differs", "LJ", None),
        ("LJ001-0002", "LJ001-0002.wav", '"Mister Smith, he said', "LJ", None),
        ("LJ001-0003", "LJ001-0003.wav", "in being comparatively modern.", "LJ", None),
        ("LJ001-0004", "LJ001-0004.wav", "NA", "LJ", None),
    ]
    assert scan.rejected == []


def test_ljspeech_rejections(tmp_path, outside):
    root = make_ljspeech(tmp_path / "lj")
    write_audio(root / "wavs" / "LJ002-0001.wav", tone(22050, 2205), 22050)
    (root / "wavs" / "LJ002-0003.wav").symlink_to(outside)
    with (root / "metadata.csv").open("a") as handle:
        handle.write("LJ002-0001||\nLJ002-0002|no audio|no audio\nLJ002-0003|link|link\n"
                     "../../outside/stray|escape|escape\nLJ001-0001|again|again\n")
    scan = read_ljspeech(root)
    assert reasons(scan) == {"LJ002-0001": "missing transcript", "LJ002-0002": "audio file not found",
                             "LJ002-0003": "path outside dataset root",
                             "../../outside/stray": "path outside dataset root", "LJ001-0001": "duplicate id"}
    assert [u.text for u in scan.utterances if u.id == "LJ001-0001"] == ["Printing, in fourteen seventy-six, differs"]


def test_ljspeech_missing_metadata_names_the_file(tmp_path):
    (tmp_path / "wavs").mkdir()
    with pytest.raises(UserError, match=f"{tmp_path / 'metadata.csv'}"):
        read_ljspeech(tmp_path)


# --- Common Voice --------------------------------------------------------------------------------

def test_commonvoice_splits_from_tsv_and_speaker_from_client_id(tmp_path):
    scan = read_commonvoice(make_commonvoice(tmp_path / "cv"))
    assert summary(scan) == [
        ("common_voice_en_1", "common_voice_en_1.mp3", "Hello world.", "aaa1", "train"),
        ("common_voice_en_2", "common_voice_en_2.mp3", '"Hi," she said.', "aaa1", "train"),
        ("common_voice_en_3", "common_voice_en_3.mp3", "None", "bbb2", "train"),
        ("common_voice_en_4", "common_voice_en_4.mp3", "A dev sentence.", "ccc3", "dev"),
        ("common_voice_en_5", "common_voice_en_5.mp3", "A test sentence.", "ddd4", "test"),
    ]


def test_commonvoice_rejections_and_missing_tables(tmp_path, outside):
    root = make_commonvoice(tmp_path / "cv")
    (root / "dev.tsv").unlink()
    (root / "test.tsv").unlink()
    (root / "clips" / "linked.mp3").symlink_to(outside)
    with (root / "train.tsv").open("a") as handle:
        handle.write("eee5\tcommon_voice_en_4.mp3\t\t0\t0\t\t\t\ten\t\n"  # blank sentence
                     "eee5\tmissing.mp3\tNo clip.\t0\t0\t\t\t\ten\t\n"
                     "eee5\tlinked.mp3\tLinked.\t0\t0\t\t\t\ten\t\n"
                     "eee5\t../../outside/stray.flac\tEscape.\t0\t0\t\t\t\ten\t\n"
                     "eee5\tcommon_voice_en_1.mp3\tAgain.\t0\t0\t\t\t\ten\t\n")
    scan = read_commonvoice(root)
    assert reasons(scan) == {"common_voice_en_4": "missing transcript", "missing": "audio file not found",
                             "linked": "path outside dataset root", "stray": "path outside dataset root",
                             "common_voice_en_1": "duplicate id"}
    assert [u.id for u in scan.utterances] == ["common_voice_en_1", "common_voice_en_2", "common_voice_en_3"]


def test_commonvoice_without_any_tsv_is_a_user_error(tmp_path):
    (tmp_path / "clips").mkdir()
    with pytest.raises(UserError, match="train.tsv"):
        read_commonvoice(tmp_path)


# --- manifest ------------------------------------------------------------------------------------

def test_manifest_tsv_with_all_columns(tmp_path):
    scan = read_manifest_corpus(make_manifest_tsv(tmp_path))
    assert summary(scan) == [
        ("three", "three.ogg", "third", "unknown", None),
        ("u1", "one.wav", '"first" quoted', "spk_a", "train"),
        ("u2", "two.flac", "second", "spk_b", "dev"),
    ]
    assert scan.utterances[0].source == tmp_path / "audio" / "one.wav"


def test_manifest_csv_defaults(tmp_path):
    scan = read_manifest_corpus(make_manifest_csv(tmp_path))
    assert [(u.id, u.text, u.speaker, u.split) for u in scan.utterances] == [
        ("clip", "hello, world", "unknown", None), ("clip_2", "second", "unknown", None)]


def test_manifest_rejections(tmp_path, outside):
    manifest = make_manifest_tsv(tmp_path / "data")
    inside_abs = tmp_path / "data" / "audio" / "one.wav"
    (tmp_path / "data" / "audio" / "link.flac").symlink_to(outside)
    with manifest.open("a") as handle:
        handle.write(f"abs_in\t{inside_abs}\tabsolute inside\t\ttest\n"
                     f"abs_out\t{outside}\tabsolute outside\t\t\n"
                     "up\t../outside/stray.flac\tdot dot\t\t\n"
                     "link\taudio/link.flac\tsymlink\t\t\n"
                     "bad\taudio/one.wav\tbad split\t\tvalidation\n"
                     "blank\taudio/one.wav\t  \t\t\n"
                     "gone\taudio/gone.wav\tno file\t\t\n"
                     "u1\taudio/two.flac\tsame id\t\t\n")
    scan = read_manifest_corpus(manifest)
    assert reasons(scan) == {
        "abs_out": "path outside dataset root", "up": "path outside dataset root",
        "link": "path outside dataset root", "bad": "bad split 'validation' (expected train, dev or test)",
        "blank": "missing transcript", "gone": "audio file not found", "u1": "duplicate id 'u1'"}
    assert ("abs_in", "one.wav", "absolute inside", "unknown", "test") in summary(scan)


def test_manifest_without_text_column_is_a_user_error(tmp_path):
    (tmp_path / "m.csv").write_text("path,sentence\na.wav,hi\n")
    with pytest.raises(UserError, match="text"):
        read_manifest_corpus(tmp_path / "m.csv")


# --- dispatch and missing roots ------------------------------------------------------------------

def test_read_corpus_dispatches_on_kind(tmp_path):
    root = make_ljspeech(tmp_path / "lj")
    assert summary(read_corpus("ljspeech", str(root))) == summary(read_ljspeech(root))


def test_unknown_corpus_kind(tmp_path):
    with pytest.raises(UserError) as info:
        read_corpus("timit", tmp_path)
    assert str(info.value) == "data.corpus must be one of librispeech, ljspeech, commonvoice, manifest, got 'timit'"


@pytest.mark.parametrize("kind", ["librispeech", "ljspeech", "commonvoice", "manifest"])
def test_missing_root_names_the_path(tmp_path, kind):
    missing = tmp_path / "nowhere"
    with pytest.raises(UserError, match=str(missing)):
        read_corpus(kind, missing)


# --- conversion ----------------------------------------------------------------------------------

def test_convert_writes_mono_16bit_16k_and_rejects_bad_audio(tmp_path):
    manifest = make_manifest_tsv(tmp_path / "src")
    audio = tmp_path / "src" / "audio"
    (audio / "corrupt.wav").write_bytes(np.random.default_rng(0).bytes(3000))
    write_audio(audio / "empty.wav", np.zeros(0, np.float32), 16000)
    write_audio(audio / "silent.wav", np.zeros(4000, np.float32), 16000)
    write_audio(audio / "stereo.wav", np.stack([tone(48000, 9600), tone(48000, 9600)], axis=1), 48000)
    with manifest.open("a") as handle:
        handle.write("".join(f"{n}\taudio/{n}.wav\t{n}\t\ttrain\n" for n in ["corrupt", "empty", "silent", "stereo"]))
    scan = read_manifest_corpus(manifest)
    utterances = [replace(u, split=u.split or "test") for u in scan.utterances]
    rows, rejected = convert_utterances(utterances, tmp_path / "out", 16000)

    # 2000 @ 8k, 15435 @ 44.1k, 6615 @ 22.05k, 9600 @ 48k -> 0.25, 0.35, 0.3, 0.2 s -> x16000
    expected = {"u1": 4000, "u2": 5600, "three": 4800, "stereo": 3200}
    assert {row["id"]: row["duration"] for row in rows} == {k: v / 16000 for k, v in expected.items()}
    for row in rows:
        info = sf.info(str(tmp_path / "out" / row["path"]))
        assert (info.samplerate, info.channels, info.subtype, info.format) == (16000, 1, "PCM_16", "WAV")
        assert info.frames == expected[row["id"]]
    assert {row["id"]: row["path"] for row in rows}["three"] == "audio/test/three.wav"
    got = {r.id: r.reason for r in rejected}
    assert sorted(got) == ["corrupt", "empty", "silent"]
    assert "unreadable" in got["corrupt"] and "empty" in got["empty"] and "silent" in got["silent"]
