"""labels.unit=phone: the phone set, CMUdict + eSpeak NG spellings, phone labels, and phones decoded to words."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from asr.corpus.pronounce import Pronouncer, ipa_to_arpabet
from asr.decoding.lexicon_beam import LexiconBeamDecoder
from asr.errors import TextError, UserError
from asr.lm.lexicon import read_lexicon, write_lexicon
from asr.text.labels import label_split
from asr.text.phones import PHONE_CHARACTERS, PHONE_CODES, encode_phones, to_arpabet
from asr.text.vocab import Vocabulary
from tests.conftest import run_stage


def test_each_of_the_39_phones_is_one_distinct_character_after_the_word_boundary():
    assert len(PHONE_CODES) == 39 and PHONE_CHARACTERS[0] == " "
    assert len(set(PHONE_CHARACTERS)) == len(PHONE_CHARACTERS) == 40
    assert all(len(code) == 1 for code in PHONE_CODES.values())


def test_phones_lose_their_stress_and_read_back_as_arpabet():
    assert encode_phones(["HH", "AH0", "L", "OW1"]) == "hʌlo"
    assert to_arpabet("hʌlo wɝld") == "HH AH L OW | W ER L D"


@pytest.mark.parametrize("ipa, phones", [
    ("həlˈoʊ", ["HH", "AH", "L", "OW"]),        # stress mark dropped, oʊ one phone
    ("tʃˈɜːtʃ", ["CH", "ER", "CH"]),             # affricates and the long ɜː
    ("bˈʌʔn̩", ["B", "AH", "T", "N"]),            # glottal stop as CMUdict's T, syllabic mark dropped
    ("lˈɪɾəl", ["L", "IH", "T", "AH", "L"]),      # the flap too
])
def test_espeak_ipa_maps_onto_arpabet(ipa, phones):
    assert ipa_to_arpabet(ipa, "w") == phones


def test_an_ipa_symbol_without_a_phone_names_the_word():
    with pytest.raises(UserError, match=r"word 'gesundheit'.*'ʏ'"):
        ipa_to_arpabet("ɡəzˈʏnthaɪt", "gesundheit")


def test_cmudict_spells_its_words_and_espeak_the_others():
    pronouncer = Pronouncer()
    # CMUdict: hello HH AH0 L OW1 (its first pronunciation), world W ER1 L D.
    assert pronouncer.spell_text("hello world") == "hʌlo wɝld"
    # Not in CMUdict: eSpeak NG en-us reads it wˈɜːdnɪt -> W ER D N IH T.
    assert pronouncer.spell_text("wordnet") == "wɝdnɪt"
    assert pronouncer.from_espeak == {"wordnet"}


def test_a_word_no_source_can_spell_is_a_text_error_for_its_utterance():
    pronouncer = Pronouncer()
    pronouncer.unspellable["qqq"] = "word 'qqq': eSpeak NG gives it no phones"
    with pytest.raises(TextError, match="qqq"):
        pronouncer.spell_text("hello qqq")


def test_the_phone_vocabulary_round_trips_with_its_unit(tmp_path):
    vocab = Vocabulary.phones()
    vocab.save(tmp_path / "vocab.json")
    data = json.loads((tmp_path / "vocab.json").read_text())
    assert data["unit"] == "phone" and data["arpabet"][:3] == ["<blank>", "|", "AA"]
    assert Vocabulary.load(tmp_path / "vocab.json") == vocab
    Vocabulary.from_characters("ab").save(tmp_path / "chars.json")
    assert "unit" not in json.loads((tmp_path / "chars.json").read_text())  # char vocab.json unchanged
    assert Vocabulary.load(tmp_path / "chars.json").unit == "char"


def test_phone_labels_encode_phones_and_keep_the_words_as_text():
    manifest = pd.DataFrame(dict(id=["a", "b"], speaker="s", engine="espeak", duration="1.0", split="train",
                                 text=["Hello, World!", "hello"]))
    vocab = Vocabulary.phones()
    labels, dropped, _ = label_split(manifest, {"a": 100, "b": 100}, vocab, "drop_char",
                                     " abcdefghijklmnopqrstuvwxyz'", Pronouncer().spell_text)
    assert labels["text"].tolist() == ["hello world", "hello"] and not dropped
    index = {ch: i + 1 for i, ch in enumerate(PHONE_CHARACTERS)}
    assert labels["label"][1] == " ".join(str(index[ch]) for ch in "hʌlo")
    assert vocab.decode([int(i) for i in labels["label"][0].split()]) == "hʌlo wɝld"


def test_the_lexicon_search_turns_a_phone_path_into_words(tmp_path):
    vocab = Vocabulary.phones()
    spellings = Pronouncer().spell_words(["hello", "world", "yellow"])
    write_lexicon(["hello", "world", "yellow"], tmp_path / "lexicon.txt", spellings=spellings)
    assert read_lexicon(tmp_path / "lexicon.txt")["hello"] == ["h", "ʌ", "l", "o", "|"]
    # A CTC path that is sure of each symbol of "hʌlo wɝld", a blank between: (steps, 41 classes).
    path = [s for ch in "hʌlo wɝld" for s in (vocab.encode(ch)[0], 0)]
    log_probs = np.full((len(path), vocab.size), -20.0, np.float32)
    log_probs[np.arange(len(path)), path] = 0.0
    decoder = LexiconBeamDecoder(vocab, None, tmp_path / "lexicon.txt")
    assert decoder.decode(log_probs) == "hello world"
    assert decoder.spelling("hello world") == "hʌlo wɝld"  # the label its word times are aligned to


@pytest.fixture(scope="module")
def phone_run(tiny_data, tmp_path_factory):
    """labels, lm, train and evaluate with labels.unit=phone on the tiny corpus: (config, root)."""
    from stages import evaluate, labels, lm, train

    cfg, _root = tiny_data
    cfg = cfg.copy()
    out = tmp_path_factory.mktemp("phones")
    for key in ("labels", "lm", "model", "checkpoint", "live", "eval"):
        cfg.paths[key] = str(out / key)
    cfg.labels.unit = "phone"
    for stage in (labels, lm, train, evaluate):
        run_stage(stage, cfg)
    return cfg, out


def test_a_phone_run_trains_on_phones_and_is_scored_in_words(phone_run):
    cfg, out = phone_run
    vocab = Vocabulary.load(out / "labels" / "vocab.json")
    assert vocab.unit == "phone" and vocab.characters == PHONE_CHARACTERS
    train = pd.read_csv(out / "labels" / "train.csv", dtype=str, keep_default_na=False)
    spelled = Pronouncer().spell_text(train["text"][0])
    assert vocab.decode([int(i) for i in train["label"][0].split()]) == spelled
    lexicon = read_lexicon(out / "lm" / "lexicon.txt")
    word = train["text"][0].split()[0]
    assert lexicon[word] == [*Pronouncer().spell_text(word), "|"]  # spelled in phones, not letters
    metrics = json.loads((out / "eval" / "metrics.json").read_text())
    assert metrics["unit"] == "phone" and metrics["decode"] == "lexicon, no LM (phone model)"
    predictions = pd.read_csv(out / "eval" / "predictions.csv", dtype=str, keep_default_na=False)
    # Every hypothesis, with or without the LM, is lexicon words: no phone symbol reaches the scores.
    for column in ("hypothesis", "hypothesis_lm"):
        words = {w for h in predictions[column] for w in h.split()}
        assert words <= set(lexicon), column


def test_a_phone_model_transcribes_through_the_lexicon_only(phone_run):
    from asr.app.transcribe import Transcriber
    from asr.bundle import load_bundle

    bundle = load_bundle(phone_run[1] / "model")
    with pytest.raises(UserError, match="predicts phones.*--decode lm"):
        Transcriber(bundle, "greedy", timings=False)


@pytest.fixture(scope="module")
def shipped(phone_run, tmp_path_factory):
    """The phone run's bundle with its LM inside it, in lm/, as stages.release ships models/base."""
    import shutil

    _cfg, out = phone_run
    model = tmp_path_factory.mktemp("shipped") / "model"
    shutil.copytree(out / "model", model)
    shutil.copytree(out / "lm", model / "lm", ignore=lambda _d, names: [n for n in names if n not in
                                                                           ("words.arpa", "lexicon.txt")])
    return model


def test_a_model_that_ships_its_lm_is_decoded_with_it_by_default(phone_run, shipped, capsys):
    from asr.app import cli

    cfg, out = phone_run
    wavs = sorted(str(p) for p in Path(cfg.paths.prepared).rglob("*.wav"))[:3]
    assert cli.main(["transcribe", *wavs, "--model", str(shipped)]) == 0  # no --decode: a phone model's words
    by_default = capsys.readouterr().out
    assert cli.main(["transcribe", *wavs, "--model", str(out / "model"), "--decode", "lm",
                     "--lm-dir", str(out / "lm")]) == 0
    assert by_default.replace(str(shipped), "M") == capsys.readouterr().out.replace(str(out / "model"), "M")
    lexicon = read_lexicon(out / "lm" / "lexicon.txt")
    assert {w for line in by_default.splitlines() for w in line.split("\t")[1].split()} <= set(lexicon)


def test_a_phone_models_words_get_the_times_of_their_phones(phone_run, shipped, capsys):
    from asr.app import cli

    cfg, _out = phone_run
    wav = sorted(Path(cfg.paths.prepared).rglob("*.wav"))[0]
    assert cli.main(["transcribe", str(wav), "--model", str(shipped), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert [w["word"] for w in record["words"]] == record["text"].split() and record["chars"] == []
    times = [t for w in record["words"] for t in (w["start"], w["end"])]
    assert times == sorted(times) and all(w["start"] < w["end"] for w in record["words"])
    assert times[-1] <= record["duration"] + 0.1


def test_fine_tuning_a_character_model_with_phone_labels_names_the_unit(phone_run, tmp_path):
    from asr.bundle import differing_keys, load_bundle

    bundle = load_bundle(phone_run[1] / "model")
    differ = differing_keys(bundle, bundle.model_settings, bundle.features, Vocabulary.from_characters(" ab"))
    assert differ == ["labels.unit ('char' here, 'phone' there)"]


def test_asr_transcribe_turns_a_phone_models_output_into_words_of_the_given_text(phone_run, tmp_path, capsys):
    from asr.app import cli

    cfg, out = phone_run
    test = pd.read_csv(Path(cfg.paths.prepared) / "test.csv", dtype=str, keep_default_na=False)
    words = tmp_path / "words.txt"
    words.write_text("the cat sat\nhello world\n")
    wav = Path(cfg.paths.prepared) / test["path"][0]
    status = cli.main(["transcribe", str(wav), "--model", str(out / "model"), "--decode", "lm",
                       "--lm-text", str(words)])
    assert status == 0
    transcript = capsys.readouterr().out.rstrip("\n").split("\t")[1]
    assert transcript and set(transcript.split()) <= {"the", "cat", "sat", "hello", "world"}  # words, not phones


def test_a_phone_models_tracked_sets_are_scored_in_words_as_evaluate_scores_it(phone_run, tmp_path):
    from asr.evaluation.report import DecodeSettings, evaluate_bundle
    from stages import train

    cfg, out = phone_run
    cfg = cfg.copy()
    for key in ("model", "checkpoint", "live"):
        cfg.paths[key] = str(tmp_path / key)
    cfg.train.epochs, cfg.train.keep = 1, "last"
    tracked = dict(name="t", features=cfg.paths.features, labels=cfg.paths.labels, split="test")
    cfg.train.track = [tracked]
    with pytest.raises(UserError, match="train.track: t: a phone model .* give each tracked set `lm`"):
        run_stage(train, cfg)
    cfg.train.track = [dict(tracked, lm=cfg.paths.lm)]
    run_stage(train, cfg)
    logged = json.loads((tmp_path / "live" / "metrics.json").read_text())["t"]
    metrics = evaluate_bundle(cfg.paths.model, cfg.paths.features, cfg.paths.labels, tmp_path / "eval",
                              DecodeSettings(num_posteriorgrams=0), None, cfg.paths.lm)
    # the lexicon's words (no LM), not phone codes: the evaluate stage's plain CER and WER of the same weights
    assert logged["cer"] == pytest.approx(metrics["test_cer"], abs=1e-5)
    assert logged["wer"] == pytest.approx(metrics["test_wer"], abs=1e-5)


def test_a_released_phone_model_ships_its_lm_and_is_measured_with_it(phone_run, tmp_path, capsys):
    import gzip

    from omegaconf import OmegaConf

    from asr.app import cli
    from stages import release

    cfg, _out = phone_run
    cfg = cfg.copy()
    cfg.paths.eval = str(tmp_path / "eval")
    tiny_test = dict(name="tiny_test", features=cfg.paths.features, labels=cfg.paths.labels, split="test")
    cfg.release = OmegaConf.create(dict(dir=str(tmp_path / "base"), lm=False, test_sets=[tiny_test], samples=dict(
        test_set="tiny_test", prepared=cfg.paths.prepared, engine="hibari", count=2)))
    with pytest.raises(UserError, match="release.lm: false, but this model predicts phones"):
        release.release(cfg)
    cfg.release.lm = True
    metrics = release.release(cfg)["tiny_test"]
    base = tmp_path / "base"
    assert sorted(p.name for p in (base / "lm").iterdir()) == ["lexicon.txt", "words.arpa.gz"]
    shipped_arpa = gzip.decompress((base / "lm" / "words.arpa.gz").read_bytes())
    assert shipped_arpa == (Path(cfg.paths.lm) / "words.arpa").read_bytes()
    predictions = pd.read_csv(tmp_path / "eval" / "tiny_test" / "predictions.csv", dtype=str, keep_default_na=False)
    from asr.metrics import character_error_rate

    assert metrics["test_cer_lm"] == pytest.approx(
        character_error_rate(predictions.reference, predictions.hypothesis_lm), abs=1e-5)
    provenance = json.loads((base / "provenance.json").read_text())
    assert provenance["reproduce"]["decoding"] == "with the LM"
    assert provenance["reproduce"]["test_cer"] == metrics["test_cer_lm"]
    # asr evaluate decodes it with the LM it ships, by default: the samples' recorded words come back
    samples = pd.read_csv(base / "samples" / "samples.csv", dtype=str, keep_default_na=False)
    capsys.readouterr()
    assert cli.main(["evaluate", str(base / "samples" / "samples.csv"), "--model", str(base),
                     "--output", str(tmp_path / "p.csv")]) == 0
    again = pd.read_csv(tmp_path / "p.csv", dtype=str, keep_default_na=False)
    assert list(again["hypothesis"]) == list(samples["hypothesis"])
    # scored against the words of the manifest's text, as the release scored them (not its phone symbols)
    assert list(again["reference"]) == list(samples["text"])
    assert [float(c) for c in again["cer"]] == pytest.approx([float(c) for c in samples["cer"]], abs=1e-5)
    by_id = predictions.set_index("id")["hypothesis_lm"]
    assert set(samples["hypothesis"]) <= set(by_id)
