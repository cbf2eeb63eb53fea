"""Where training starts and how long it goes on: train.init, continuing a run with higher limits, train.track."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from asr.bundle import load_bundle
from asr.csvio import read_text_table
from asr.errors import UserError
from asr.evaluation.report import DecodeSettings, evaluate_bundle
from asr.model.checkpoint import read_state
from stages import train
from tests.conftest import REPO, TINY, run_stage

pytestmark = pytest.mark.slow


def run_in(tiny_data, directory, **train_keys):
    """Train on the tiny corpus into `directory`/{model,checkpoint,live}; the bundle's weights."""
    cfg, _ = tiny_data
    cfg = cfg.copy()
    for key in ("model", "checkpoint", "live", "eval"):
        cfg.paths[key] = str(directory / key)
    for key, value in train_keys.items():
        cfg.train[key] = value
    run_stage(train, cfg)
    return cfg, load_bundle(cfg.paths.model).model.get_weights()


@pytest.fixture(scope="module")
def start_bundle(tiny_data, tmp_path_factory):
    """A trained tiny bundle to start from (two epochs, so its weights are far from a fresh draw)."""
    cfg, _ = run_in(tiny_data, tmp_path_factory.mktemp("start"), epochs=2, learning_rate=0.01, keep="last")
    # statistics of "another corpus": fine-tuning must keep them, not take this corpus's
    cmvn = Path(cfg.paths.model) / "cmvn.json"
    stats = json.loads(cmvn.read_text())
    cmvn.write_text(json.dumps(dict(stats, mean=[m + 1.0 for m in stats["mean"]])))
    return cfg.paths.model


def test_training_starts_from_the_weights_of_the_bundle_train_init_names(tiny_data, start_bundle, tmp_path, capsys):
    given = load_bundle(start_bundle)
    # a learning rate so small that one epoch of Adam moves no weight by more than 1e-8 per update
    _, tuned = run_in(tiny_data, tmp_path / "tuned", init=start_bundle, learning_rate=1e-10, keep="last")
    assert f"starting from the weights of {start_bundle}" in capsys.readouterr().out
    for before, after in zip(given.model.get_weights(), tuned):
        np.testing.assert_allclose(after, before, atol=1e-6)
    # control: the same run without train.init starts elsewhere
    _, fresh = run_in(tiny_data, tmp_path / "fresh", learning_rate=1e-10, keep="last")
    assert max(np.abs(a - b).max() for a, b in zip(given.model.get_weights(), fresh)) > 0.01
    # the fine-tuned bundle keeps the input statistics the given weights were trained on
    np.testing.assert_array_equal(load_bundle(tmp_path / "tuned" / "model").normaliser.mean, given.normaliser.mean)
    assert not np.array_equal(load_bundle(tmp_path / "fresh" / "model").normaliser.mean, given.normaliser.mean)


def test_a_network_that_differs_from_the_init_bundle_names_the_keys(tiny_data, start_bundle, tmp_path):
    cfg, _ = tiny_data
    cfg = cfg.copy()
    cfg.paths.checkpoint = str(tmp_path / "checkpoint")
    cfg.train.init, cfg.model.units, cfg.model.cell = start_bundle, 6, "lstm"
    with pytest.raises(UserError) as raised:
        run_stage(train, cfg)
    message = str(raised.value)
    assert "\n" not in message and message.startswith(f"train.init={start_bundle}: ")
    assert "model.cell ('lstm' here, 'gru' there), model.units (6 here, 8 there)" in message
    cfg.train.init, cfg.model.units, cfg.model.cell = str(tmp_path / "nothing"), 8, "gru"
    with pytest.raises(UserError, match="model bundle not found"):
        run_stage(train, cfg)


def test_the_stage_reports_a_mismatch_in_one_line(tiny_data, start_bundle, tmp_path):
    cfg, _ = tiny_data
    result = subprocess.run([sys.executable, "-m", "stages.train", *TINY, f"train.init={start_bundle}",
                             "model.units=6", f"paths.features={cfg.paths.features}", f"paths.labels={cfg.paths.labels}",
                             f"paths.checkpoint={tmp_path}/c", f"paths.live={tmp_path}/l", f"paths.model={tmp_path}/m"],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("\n") == 1 and "model.units (6 here, 8 there)" in result.stderr


def test_raising_the_epochs_continues_a_finished_run_to_the_weights_of_an_uninterrupted_one(tiny_data, tmp_path,
                                                                                         capsys):
    cfg, _ = run_in(tiny_data, tmp_path / "continued", epochs=1)
    assert read_state(cfg.paths.checkpoint)["finished"]
    capsys.readouterr()
    _, continued = run_in(tiny_data, tmp_path / "continued", epochs=2)
    assert "resuming after epoch 1" in capsys.readouterr().out
    _, straight = run_in(tiny_data, tmp_path / "straight", epochs=2)
    for a, b in zip(continued, straight):
        np.testing.assert_array_equal(a, b)
    dev_cer = read_text_table(tmp_path / "continued/live/plots/metrics/dev/cer.tsv", sep="\t")
    assert list(dev_cer["step"]) == ["0", "1"]  # one row per epoch, none repeated
    # the same limit again: nothing more to do, so it trains afresh (as before continuing existed)
    capsys.readouterr()
    run_in(tiny_data, tmp_path / "continued", epochs=2)
    assert "resuming" not in capsys.readouterr().out


def test_tracked_test_sets_are_scored_after_every_epoch(tiny_data, tmp_path):
    cfg, _ = tiny_data
    track = [dict(name="tiny_test", features=cfg.paths.features, labels=cfg.paths.labels, split="test")]
    run_cfg, _ = run_in(tiny_data, tmp_path / "tracked", epochs=2, keep="last", track=track)
    logged = read_text_table(tmp_path / "tracked/live/plots/metrics/tiny_test/cer.tsv", sep="\t")
    assert list(logged["step"]) == ["0", "1"]
    hours = read_text_table(tmp_path / "tracked/live/plots/metrics/train_hours.tsv", sep="\t")["train_hours"]
    assert 0 < float(hours[0]) < float(hours[1])
    # the last epoch's tracked CER is the test CER of the bundle it left (keep=last)
    metrics = evaluate_bundle(run_cfg.paths.model, cfg.paths.features, cfg.paths.labels, tmp_path / "eval",
                              DecodeSettings(num_posteriorgrams=0), "hibari")
    assert float(logged["cer"].iloc[-1]) == pytest.approx(metrics["test_cer"], abs=1e-5)
    engines = json.loads((tmp_path / "tracked/live/metrics.json").read_text())["tiny_test"]
    assert engines["cer_hibari"] == pytest.approx(metrics["heldout_cer"], abs=1e-5)
