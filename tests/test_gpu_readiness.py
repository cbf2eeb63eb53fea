"""What a GPU needs from the model: cuDNN-eligible recurrent layers, right-padded masks, mixed precision."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest

# Keras' own test of the arguments (cudnn_ok() adds "and a GPU is visible", always false on a CPU runner).
from keras.src.backend.tensorflow.rnn import (
    _do_gru_arguments_support_cudnn,
    _do_lstm_arguments_support_cudnn,
)

from asr.bundle import load_bundle
from asr.model.network import ModelSettings, build_model
from stages import train
from tests.conftest import compose, run_stage

PRESETS = ["model=bigru", "model=bilstm", "model=large"]


def recurrent_layers(model):
    """The forward and backward GRU/LSTM layers inside every Bidirectional wrapper."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.Bidirectional):
            yield layer.forward_layer
            yield layer.backward_layer


@pytest.mark.parametrize("preset", PRESETS)
def test_every_recurrent_layer_of_each_preset_can_run_on_the_cudnn_kernel(preset):
    # Keras 3 (layers/rnn/gru.py, lstm.py) runs cuDNN only for these settings; any other falls back to
    # a step-by-step loop many times slower on a GPU, silently.
    model = build_model(39, 29, ModelSettings(**compose([preset]).model))
    layers = list(recurrent_layers(model))
    assert len(layers) == 2 * ModelSettings(**compose([preset]).model).layers
    for layer in layers:
        config = layer.get_config()
        assert config["activation"] == "tanh" and config["recurrent_activation"] == "sigmoid", layer.name
        assert config["recurrent_dropout"] == 0 and config["unroll"] is False and config["use_bias"] is True
        assert layer.use_cudnn in ("auto", True)  # not in get_config()
        if isinstance(layer, keras.layers.GRU):
            assert config["reset_after"] is True
        cell = layer.cell
        if isinstance(layer, keras.layers.GRU):
            assert _do_gru_arguments_support_cudnn(cell.activation, cell.recurrent_activation, layer.unroll,
                                                   cell.use_bias, cell.reset_after), layer.name
        else:
            assert _do_lstm_arguments_support_cudnn(cell.activation, cell.recurrent_activation, layer.unroll,
                                                    cell.use_bias), layer.name


def test_the_mask_reaching_the_recurrent_layers_is_right_padded():
    # cuDNN takes sequence lengths, not masks: a mask with a gap would be misread. The pipeline pads at
    # the end with zeros, Masking marks them, and frame stacking keeps the valid steps first.
    model = build_model(39, 29, ModelSettings("gru", 4, 1, 0.0, 3))
    features = np.random.default_rng(0).normal(size=(3, 10, 39)).astype(np.float32)  # (batch, frames, 39)
    features[0, 7:] = 0.0  # 7 real frames, 3 padded
    features[1, 1:] = 0.0  # 1 real frame
    mask = model.get_layer("padding_mask").compute_mask(features)
    stacked = np.asarray(model.get_layer("frame_stacking").compute_mask(features, mask))  # (batch, 4 steps)
    assert stacked.tolist() == [[True, True, True, False], [True, False, False, False], [True] * 4]
    for row in stacked:
        assert not np.any(row[1:] & ~row[:-1]), "a valid step after a padded one"


def test_under_mixed_float16_the_network_computes_in_float16_but_outputs_float32_log_probs():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = build_model(39, 29, ModelSettings("gru", 4, 1, 0.0, 3))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.get_layer("bigru_1").compute_dtype == "float16"
    assert model.get_layer("logits").compute_dtype == "float32"
    assert all(w.dtype == "float32" for w in model.weights)  # variables stay float32; the optimizer updates them
    assert model(np.zeros((1, 6, 39), np.float32)).dtype == "float32"


@pytest.mark.slow
def test_a_tiny_mixed_precision_run_trains_with_a_finite_loss_and_saves_a_float32_model(tiny_data, tmp_path):
    cfg, _ = tiny_data
    cfg = cfg.copy()
    for key in ("model", "checkpoint", "live"):
        cfg.paths[key] = str(tmp_path / key)
    cfg.train.mixed_precision = True
    run_stage(train, cfg)
    assert keras.mixed_precision.global_policy().name == "float32"  # restored for whatever runs next
    metrics = json.loads(Path(cfg.paths.live, "metrics.json").read_text())
    assert np.isfinite(metrics["train"]["loss"]) and np.isfinite(metrics["dev"]["loss"])
    assert json.loads(Path(cfg.paths.checkpoint, "state.json").read_text())["skipped"] == []
    bundle = load_bundle(cfg.paths.model)
    assert bundle.model.get_layer("bigru_1").compute_dtype == "float32"
    log_probs = bundle.model(np.random.default_rng(0).normal(size=(1, 12, 39)).astype(np.float32))
    assert log_probs.dtype == "float32" and np.all(np.isfinite(np.asarray(log_probs)))
