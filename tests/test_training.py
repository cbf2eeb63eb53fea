"""Training on the tiny corpus: bundle round trip, determinism, non-finite batches, resumption."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from asr.bundle import load_bundle
from asr.model.data import read_labels
from asr.errors import UserError
from asr.metrics import character_error_rate
from asr.model.network import ModelSettings, build_model
from asr.model.training import TrainSettings, make_train_step
from stages import evaluate, lm, train
from tests.conftest import REPO, TINY, run_stage

pytestmark = pytest.mark.slow


def test_train_and_evaluate_write_a_loadable_bundle_and_metrics(tiny_data):
    cfg, root = tiny_data
    run_stage(train, cfg)
    bundle = load_bundle(cfg.paths.model)  # safe_mode=True inside
    assert bundle.vocab.size == 29 and bundle.features.dim == 39
    run_stage(lm, cfg)
    run_stage(evaluate, cfg)
    metrics = json.loads(open(f"{cfg.paths.eval}/metrics.json").read())
    assert {"test_cer", "test_wer", "test_loss", "dev_cer", "num_utterances", "rtf"} <= set(metrics)
    assert metrics["num_utterances"] == len(read_labels(f"{cfg.paths.labels}/test.csv"))
    assert 0 <= metrics["test_cer"] and np.isfinite(metrics["test_loss"])
    predictions = pd.read_csv(f"{cfg.paths.eval}/predictions.csv")
    assert list(predictions.columns) == ["id", "speaker", "engine", "reference", "hypothesis", "cer", "hypothesis_lm",
                                         "cer_lm", "problem"]
    # Per engine: each engine's CER is the corpus CER of its own rows; the held-out engine's is repeated.
    for engine, scores in metrics["test_by_engine"].items():
        rows = predictions[predictions["engine"] == engine]
        assert scores["cer"] == round(character_error_rate(rows.reference, rows.hypothesis.fillna("")), 5)
        assert scores["utterances"] == len(rows)
    assert metrics["heldout_engine"] == "hibari"
    assert metrics["heldout_cer"] == metrics["test_by_engine"].get("hibari", {}).get("cer")
    assert {"test_cer_lm", "test_wer_lm", "dev_wer_lm", "rtf_lm"} <= set(metrics)
    assert len(list((root / "eval/plots/posteriorgrams").glob("*.png"))) == 2
    speakers = pd.read_csv(f"{cfg.paths.eval}/plots/cer_per_speaker.csv")
    assert set(speakers["speaker"]) == set(predictions["speaker"])


def test_saved_model_round_trips_with_safe_mode_and_identical_outputs(tiny_data):
    cfg, _ = tiny_data
    root_bundle = Path(cfg.paths.model)
    if not root_bundle.exists():
        run_stage(train, cfg)
    # The trained network as training left it: rebuilt from its settings, best weights from the checkpoint
    bundle = load_bundle(root_bundle)  # model.keras, loaded with safe_mode=True
    trained = build_model(39, 29, bundle.model_settings)
    trained.load_weights(Path(cfg.paths.checkpoint) / "best.weights.h5")
    features = np.random.default_rng(0).normal(size=(2, 50, 39)).astype(np.float32)
    np.testing.assert_array_equal(trained.predict(features, verbose=0), bundle.model.predict(features, verbose=0))


def test_same_seed_gives_the_same_metrics(tiny_data, tmp_path):
    cfg, _ = tiny_data
    results = []
    for run_dir in ("a", "b"):
        run_cfg = cfg.copy()
        for key in ("model", "checkpoint", "live", "eval"):
            run_cfg.paths[key] = str(tmp_path / run_dir / key)
        run_stage(train, run_cfg)
        results.append(json.loads(open(f"{run_cfg.paths.live}/metrics.json").read()))
    # everything but the wall-clock figures (epoch_seconds, frames_per_second) must repeat exactly
    assert results[0]["dev"] == results[1]["dev"]
    assert results[0]["train"]["loss"] == results[1]["train"]["loss"]


def test_a_batch_with_a_non_finite_loss_is_skipped_without_touching_the_weights():
    model = build_model(39, 29, ModelSettings("gru", 4, 1, 0.0, 1))
    optimizer = keras.optimizers.Adam(0.01)
    optimizer.build(model.trainable_variables)
    step = make_train_step(model, optimizer, subsample=1, clipnorm=5.0)
    before = [w.copy() for w in model.get_weights()]
    features = np.random.default_rng(0).normal(size=(2, 3, 39)).astype(np.float32)
    poisoned = features.copy()
    poisoned[0, 1, 5] = np.nan  # e.g. a corrupt feature file: utterance 0's loss becomes NaN
    labels = np.array([[1, 0], [2, 0]], np.int32)
    losses, applied = step(poisoned, labels, np.array([3, 3], np.int32), np.array([1, 1], np.int32))
    assert not bool(applied)
    assert not np.isfinite(losses.numpy()[0]) and np.isfinite(losses.numpy()[1])
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)
    # a good batch does update
    losses, applied = step(features, labels, np.array([3, 3], np.int32), np.array([1, 1], np.int32))
    assert bool(applied)
    assert any(not np.array_equal(o, n) for o, n in zip(before, model.get_weights()))


def test_bad_training_settings_name_the_key():
    settings = TrainSettings(0, 0, 1, 1, "adam", 1e-3, 5, 0.5, 1, 1e-5, 1, 0)
    with pytest.raises(UserError, match="train.batch_size"):
        settings.validate()
    with pytest.raises(UserError, match="train.optimizer.*adadelta"):
        TrainSettings(0, 8, 1, 1, "rmsprop", 1e-3, 5, 0.5, 1, 1e-5, 1, 0).validate()


def test_cosine_schedule_decays_from_the_learning_rate_towards_the_minimum():
    settings = TrainSettings(0, 8, 4, 1, "adam", 0.002, 5, 0.5, 1, 0.0001, 1, 0, lr_schedule="cosine")
    # epoch e of 4 at progress (e - 1) / 4: 0.0001 + 0.0019 * (1 + cos(pi * progress)) / 2
    # cos(pi / 4) = 0.70710678: 0.0001 + 0.00095 * 1.70710678 = 0.00172175; at 3/4, * 0.29289322
    expected = [0.002, 0.00172175, 0.00105, 0.00037825]
    np.testing.assert_allclose([settings.cosine_rate(e) for e in (1, 2, 3, 4)], expected, rtol=1e-5)
    with pytest.raises(UserError, match="train.lr_schedule"):
        TrainSettings(0, 8, 4, 1, "adam", 0.002, 5, 0.5, 1, 0.0001, 1, 0, lr_schedule="linear").validate()


def h5_arrays(path) -> dict:
    """Every dataset in a Keras .weights.h5 file, by its name."""
    import h5py

    arrays = {}
    with h5py.File(path, "r") as handle:
        handle.visititems(lambda name, item: arrays.update({name: item[()]}) if isinstance(item, h5py.Dataset) else None)
    return arrays


def test_killed_training_resumes_after_its_last_completed_epoch_and_ends_as_an_uninterrupted_run(tiny_data, tmp_path):
    cfg, root = tiny_data
    # Dropout (the model's default 0.25) and SpecAugment on: their random draws must continue as if never stopped.
    settings = TINY + ["train.epochs=3", "train.spec_freq_masks=2", "train.spec_time_masks=2"] + [
        f"paths.{k}={v}" for k, v in cfg.paths.items() if k in ("prepared", "features", "labels")]

    def command(run):
        return [sys.executable, "-m", "stages.train", *settings,
                *[f"paths.{k}={tmp_path / run / k}" for k in ("model", "checkpoint", "live", "eval")]]

    uninterrupted = subprocess.Popen(command("whole"), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
    process = subprocess.Popen(command("resumed"), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    state_file = tmp_path / "resumed" / "checkpoint" / "state.json"
    deadline = time.time() + 900  # a guard against a hang; a loaded machine is slow
    while time.time() < deadline and process.poll() is None:
        if state_file.exists() and json.loads(state_file.read_text())["epoch"] >= 1:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    process.wait()
    killed_at = json.loads(state_file.read_text())["epoch"]
    assert 1 <= killed_at < 3, "training finished before it could be interrupted"
    assert not (tmp_path / "resumed" / "model").exists()

    result = subprocess.run(command("resumed"), cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert f"resuming after epoch {killed_at}" in result.stdout
    assert f"epoch {killed_at}:" not in result.stdout  # the completed epochs are not redone
    assert "epoch 3:" in result.stdout
    assert json.loads(state_file.read_text())["epoch"] == 3
    steps = pd.read_csv(tmp_path / "resumed" / "live" / "plots" / "metrics" / "dev" / "cer.tsv", sep="\t")["step"]
    assert steps.tolist() == [0, 1, 2]  # one dvclive step per epoch across both runs
    assert not [p for p in (tmp_path / "resumed").iterdir() if p.name.endswith(".tmp")]  # the kill's leftovers

    assert uninterrupted.wait(timeout=600) == 0, uninterrupted.stdout.read()
    # Tolerance: none. Same data order, masks, dropout draws and optimizer state: bit-identical weights.
    for name in ("last.weights.h5", "best.weights.h5"):
        whole, resumed = (h5_arrays(tmp_path / run / "checkpoint" / name) for run in ("whole", "resumed"))
        assert whole.keys() == resumed.keys() and whole
        for key in whole:
            np.testing.assert_array_equal(whole[key], resumed[key], err_msg=f"{name}: {key}")
