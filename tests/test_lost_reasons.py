"""Nothing is lost: a failing prepare keeps its rejected list, evaluate scores every labelled utterance."""

import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import REPO, compose, run_stage
from tests.corpus_fixtures import tone, write_audio


def test_prepare_rejecting_everything_keeps_the_reasons_outside_the_rolled_back_output(tmp_path):
    root = tmp_path / "corpus"
    root.mkdir()
    for name in ("bad1", "bad2", "bad3", "bad4"):
        (root / f"{name}.wav").write_bytes(b"garbage" * 10)
    pd.DataFrame([(f"bad{k}.wav", "hello") for k in (1, 2, 3, 4)], columns=["path", "text"]).to_csv(
        root / "set.csv", index=False)
    prepared = tmp_path / "data" / "prepared"
    result = subprocess.run([sys.executable, "-m", "stages.prepare", f"paths.prepared={prepared}", "data=manifest",
                             f"data.root={root / 'set.csv'}"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300, env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert result.returncode == 1
    kept = tmp_path / "data" / "prepared.rejected.csv"
    error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1, result.stderr
    assert "no usable training utterances (4 rejected" in error[0]
    assert str(kept) in error[0]
    assert f"{root / 'bad1.wav'}: unreadable audio" in error[0]  # the first reasons, in the one line
    assert "Traceback" not in result.stderr
    assert not prepared.exists()  # a failed stage leaves no half output for DVC to mistake
    rejected = pd.read_csv(kept)
    assert rejected["source"].tolist() == [str(root / f"bad{k}.wav") for k in (1, 2, 3, 4)]
    assert rejected["reason"].str.startswith("unreadable audio").all()


def test_prepare_that_succeeds_removes_a_stale_kept_rejected_list(tmp_path):
    root = tmp_path / "corpus"
    write_audio(root / "a.wav", tone(16000, 8000, 300), 16000)
    pd.DataFrame([("a.wav", "one", "train")], columns=["path", "text", "split"]).to_csv(root / "set.csv", index=False)
    stale = tmp_path / "data" / "prepared.rejected.csv"
    stale.parent.mkdir(parents=True)
    stale.write_text("id,source,reason\nold,old.wav,from a failed run\n")
    result = subprocess.run([sys.executable, "-m", "stages.prepare", f"paths.prepared={tmp_path / 'data' / 'prepared'}",
                             "data=manifest", f"data.root={root / 'set.csv'}"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300, env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert result.returncode == 0, result.stderr
    assert not stale.exists()
    assert (tmp_path / "data" / "prepared" / "rejected.csv").is_file()


@pytest.mark.slow  # loads TensorFlow
def test_evaluate_scores_utterances_too_short_to_align_and_counts_them(tmp_path, capsys):
    """An utterance whose label cannot fit its frames once stacked is still decoded and scored, never dropped."""
    from asr.evaluation.report import DecodeSettings, evaluate_bundle
    from stages import features, labels, prepare
    from tests.random_bundle import write_random_bundle

    corpus = tmp_path / "corpus"
    rows = []
    for k, split in enumerate(["train", "train", "dev", "test", "test"]):
        write_audio(corpus / f"a{k}.wav", tone(16000, 16000, 200 + 50 * k), 16000)
        rows.append(dict(path=f"a{k}.wav", text="hello", id=f"u{k}", split=split))
    # 0.3 s: about 30 frames, 10 steps once the random bundle stacks 3: too few for 20 letters, enough for labels
    write_audio(corpus / "short.wav", tone(16000, 4800, 500), 16000)
    rows.append(dict(path="short.wav", text="abcdefghijklmnopqrst", id="short", split="test"))
    pd.DataFrame(rows).to_csv(corpus / "set.csv", index=False)
    cfg = compose(["data=manifest", f"data.root={corpus / 'set.csv'}", "features.workers=1"], tmp_path)
    for stage in (prepare, features, labels):
        run_stage(stage, cfg)
    assert "short" in pd.read_csv(f"{cfg.paths.labels}/test.csv")["id"].tolist()  # labels kept it
    bundle = write_random_bundle(tmp_path / "bundle")
    metrics = evaluate_bundle(bundle, cfg.paths.features, cfg.paths.labels, cfg.paths.eval,
                              DecodeSettings(num_posteriorgrams=1))

    predictions = pd.read_csv(f"{cfg.paths.eval}/predictions.csv", keep_default_na=False)
    assert sorted(predictions["id"]) == ["short", "u3", "u4"]
    assert metrics["num_utterances"] == 3
    assert metrics["test_unalignable"] == 1 and metrics["dev_unalignable"] == 0
    short = predictions[predictions["id"] == "short"].iloc[0]
    assert short["reference"] == "abcdefghijklmnopqrst" and short["problem"].startswith("cannot align")
    assert "evaluate: test utterance short: cannot align" in capsys.readouterr().out


@pytest.mark.slow  # starts the `asr` command, which loads TensorFlow
def test_asr_evaluate_scores_an_utterance_too_short_to_align(tmp_path):
    """`asr evaluate` aligns nothing: a short utterance with a long reference is scored, not dropped."""
    from tests.random_bundle import write_random_bundle

    bundle = write_random_bundle(tmp_path / "bundle")
    write_audio(tmp_path / "long.wav", tone(16000, 16000, 300), 16000)
    write_audio(tmp_path / "short.wav", tone(16000, 4800, 500), 16000)
    pd.DataFrame(dict(path=["long.wav", "short.wav"], text=["hello", "abcdefghijklmnopqrst"])).to_csv(
        tmp_path / "set.csv", index=False)
    result = subprocess.run([sys.executable, "-m", "asr.app.cli", "evaluate", "--model", str(bundle),
                             str(tmp_path / "set.csv")], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "utterances 2  failed 0" in result.stdout
    predictions = pd.read_csv(tmp_path / "set.predictions.csv", keep_default_na=False)
    assert predictions["path"].tolist() == ["long.wav", "short.wav"]


@pytest.mark.slow  # loads TensorFlow
def test_evaluate_names_labelled_utterances_the_features_lack_instead_of_dropping_them(tmp_path):
    from asr.errors import UserError
    from asr.evaluation.report import DecodeSettings, evaluate_bundle
    from stages import features, labels, prepare
    from tests.random_bundle import write_random_bundle

    corpus = tmp_path / "corpus"
    rows = []
    for k, split in enumerate(["train", "dev", "test"]):
        write_audio(corpus / f"a{k}.wav", tone(16000, 16000, 200 + 50 * k), 16000)
        rows.append(dict(path=f"a{k}.wav", text="hello", id=f"u{k}", split=split))
    pd.DataFrame(rows).to_csv(corpus / "set.csv", index=False)
    cfg = compose(["data=manifest", f"data.root={corpus / 'set.csv'}", "features.workers=1"], tmp_path)
    for stage in (prepare, features, labels):
        run_stage(stage, cfg)
    test_labels = pd.read_csv(f"{cfg.paths.labels}/test.csv", keep_default_na=False)
    pd.concat([test_labels, test_labels.assign(id="ghost")]).to_csv(f"{cfg.paths.labels}/test.csv", index=False)
    with pytest.raises(UserError, match=r"1 test utterance\(s\) labelled but not in .*\(first: ghost\)"):
        evaluate_bundle(write_random_bundle(tmp_path / "bundle"), cfg.paths.features, cfg.paths.labels,
                        cfg.paths.eval, DecodeSettings(num_posteriorgrams=1))
