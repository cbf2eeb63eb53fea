"""Words that pandas would read as missing ("None", "NA", "null", "nan") stay literal, as ids and as transcripts."""

import numpy as np
import pandas as pd
import pytest

from asr.corpus.common import SPLITS
from asr.features.shards import iter_split, read_index
from asr.model.data import read_labels
from asr.model.training import rewind_live
from tests.conftest import compose, run_stage
from tests.corpus_fixtures import tone, write_audio

MISSING_LOOKING = ["None", "NA", "null", "nan", "NaN", "N/A", "NULL", "#N/A", "n/a", ""]
TINY_FEATURES = ["features.workers=1", "data.dev_fraction=0", "data.test_fraction=0"]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """prepare, features and labels on a manifest whose ids and transcripts look missing; returns the config."""
    from stages import features, labels, prepare

    root = tmp_path_factory.mktemp("missing")
    rows = []
    for k, word in enumerate(MISSING_LOOKING[:-1]):  # "" cannot be an id: it would be made up from the path
        split = SPLITS[k % 3]
        write_audio(root / "corpus" / f"a{k}.wav", tone(16000, 16000, 200 + 50 * k), 16000)
        text = word if word.isalpha() else "nan"  # a transcript must normalise to letters to be kept
        rows.append(dict(path=f"a{k}.wav", text=text, id=word, speaker="NA", split=split))
    pd.DataFrame(rows).to_csv(root / "corpus" / "set.csv", index=False)
    cfg = compose(["data=manifest", f"data.root={root / 'corpus' / 'set.csv'}", *TINY_FEATURES], root)
    for stage in (prepare, features, labels):
        run_stage(stage, cfg)
    return cfg, rows


def test_ids_stay_literal_through_manifests_features_and_labels(pipeline):
    cfg, rows = pipeline
    ids = {row["split"]: [] for row in rows}
    for row in rows:
        ids[row["split"]].append(row["id"])
    index = read_index(cfg.paths.features)
    assert sorted(index["id"]) == sorted(r["id"] for r in rows), index["id"].tolist()
    for split in SPLITS:
        assert [utt_id for utt_id, _ in iter_split(cfg.paths.features, split)] == ids[split]
        labels = read_labels(f"{cfg.paths.labels}/{split}.csv")
        assert labels["id"].tolist() == ids[split]
        assert set(labels["speaker"]) == {"NA"}
    assert index["num_frames"].dtype == np.int64 and index["row"].dtype == np.int64


def test_transcripts_stay_literal_through_labels(pipeline):
    cfg, rows = pipeline
    texts = {row["id"]: row["text"].lower() for row in rows}
    for split in SPLITS:
        for row in read_labels(f"{cfg.paths.labels}/{split}.csv").itertuples():
            assert row.text == texts[row.id]
            assert row.num_frames > 0


def test_rewinding_the_training_curves_keeps_every_value_as_written(tmp_path):
    class Live:  # dvclive's Live as rewind_live uses it: where the curves are, and the step
        plots_dir, step = tmp_path, 0

    tsv = tmp_path / "metrics" / "dev" / "loss.tsv"
    tsv.parent.mkdir(parents=True)
    lines = ["timestamp\tstep\tloss", "1700000000000\t0\tnan", "1700000000100\t1\tinf", "1700000000200\t2\t0.1000",
             "1700000000300\t3\t1e-05"]
    tsv.write_text("\n".join(lines) + "\n")
    rewind_live(Live, completed_epochs=3)
    assert tsv.read_text() == "\n".join(lines[:4]) + "\n"  # a non-finite loss is not written back as ""
    assert Live.step == 3


@pytest.mark.slow  # loads TensorFlow
def test_evaluation_keeps_the_ids_and_references(pipeline, tmp_path):
    from asr.csvio import read_text_table
    from asr.evaluation.report import DecodeSettings, evaluate_bundle
    from tests.random_bundle import write_random_bundle

    cfg, rows = pipeline
    bundle = write_random_bundle(tmp_path / "bundle")
    evaluate_bundle(bundle, cfg.paths.features, cfg.paths.labels, tmp_path / "eval", DecodeSettings(num_posteriorgrams=1))
    predictions = read_text_table(tmp_path / "eval" / "predictions.csv")
    test_rows = [row for row in rows if row["split"] == "test"]
    assert predictions["id"].tolist() == [row["id"] for row in test_rows]
    assert predictions["reference"].tolist() == [row["text"].lower() for row in test_rows]
    assert (tmp_path / "eval" / "plots" / "posteriorgrams" / f"{test_rows[0]['id']}.png").is_file()


@pytest.mark.slow  # starts the `asr` command, which loads TensorFlow
def test_asr_evaluate_keeps_references_that_look_missing(tmp_path):
    import subprocess
    import sys

    from asr.csvio import read_text_table
    from tests.conftest import REPO
    from tests.random_bundle import write_random_bundle

    bundle = write_random_bundle(tmp_path / "bundle")
    words = ["None", "NA", "null", "nan"]
    for k, word in enumerate(words):
        write_audio(tmp_path / f"{word}.wav", tone(16000, 16000, 200 + 100 * k), 16000)
    pd.DataFrame(dict(path=[f"{w}.wav" for w in words], text=words)).to_csv(tmp_path / "set.csv", index=False)
    result = subprocess.run([sys.executable, "-m", "asr.app.cli", "evaluate", "--model", str(bundle),
                             str(tmp_path / "set.csv")], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "utterances 4  failed 0" in result.stdout
    predictions = read_text_table(tmp_path / "set.predictions.csv")
    assert predictions["path"].tolist() == [f"{w}.wav" for w in words]
    assert predictions["reference"].tolist() == [w.lower() for w in words]


def test_read_text_table_converts_only_the_numeric_columns_it_is_told_and_names_a_bad_one(tmp_path):
    from asr.csvio import read_text_table

    (tmp_path / "t.csv").write_text("id,num_frames,duration\nnull,12,nan\nNA,7,1.5\n")
    table = read_text_table(tmp_path / "t.csv", integers=["num_frames"])
    assert table["id"].tolist() == ["null", "NA"] and table["duration"].tolist() == ["nan", "1.5"]
    assert table["num_frames"].tolist() == [12, 7]
    with pytest.raises(ValueError, match="column 'id' must hold numbers"):
        read_text_table(tmp_path / "t.csv", integers=["id"])
