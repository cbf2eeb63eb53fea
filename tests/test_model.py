"""FrameStacking, the inference network's shape/mask behaviour, save/load, and settings validation."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest
from keras import ops

from asr.errors import UserError
from asr.model.network import FrameStacking, MaskedConv1D, ModelSettings, build_model, stacked_length

NUM_FEATURES = 5
NUM_CLASSES = 4


def tiny_settings(cell="gru", subsample=3, layers=2, layer_norm=False, conv_layers=0):
    return ModelSettings(cell=cell, units=6, layers=layers, dropout=0.1, subsample=subsample, layer_norm=layer_norm,
                         conv_layers=conv_layers, conv_channels=7, conv_kernel=3)


@pytest.fixture(scope="module", params=["gru", "lstm"])
def cell(request):
    return request.param


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "layer_norm"])
def layer_norm(request):
    return request.param


@pytest.fixture(scope="module")
def model(cell, layer_norm):
    keras.utils.set_random_seed(0)
    return build_model(NUM_FEATURES, NUM_CLASSES, tiny_settings(cell, layer_norm=layer_norm))


def run(model, x):
    """Eager inference: for these tiny models, faster than tracing `model.predict` per shape."""
    return ops.convert_to_numpy(model(x, training=False))


def features(frames, seed=0):
    """(frames, NUM_FEATURES) non-zero frames, like normalised MFCCs."""
    return np.random.default_rng(seed).normal(size=(frames, NUM_FEATURES)).astype("float32") + 0.1


@pytest.mark.parametrize("frames, stride, steps", [(7, 3, 3), (6, 3, 2), (1, 3, 1), (0, 3, 0), (5, 1, 5)])
def test_stacked_length_on_ints_arrays_and_tensors(frames, stride, steps):
    assert stacked_length(frames, stride) == steps
    assert stacked_length(np.array([frames]), stride).tolist() == [steps]
    assert ops.convert_to_numpy(stacked_length(ops.convert_to_tensor([frames]), stride)).tolist() == [steps]


def test_frame_stacking_concatenates_and_zero_pads():
    x = np.arange(2 * 7 * 2, dtype="float32").reshape(2, 7, 2) + 1  # (batch 2, frames 7, dim 2)
    y = ops.convert_to_numpy(FrameStacking(3)(x))
    assert y.shape == (2, 3, 6)
    np.testing.assert_array_equal(y[0, 0], x[0, 0:3].reshape(-1))  # frames 0, 1, 2 side by side
    np.testing.assert_array_equal(y[1, 2], [*x[1, 6], 0, 0, 0, 0])  # frame 6, then zero padding


def test_frame_stacking_mask_keeps_any_valid_frame():
    layer = FrameStacking(3)
    x = np.ones((4, 7, 2), "float32")
    mask = np.zeros((4, 7), bool)
    mask[0, :7] = True  # 7 frames: the last step holds only frame 6 and is still valid
    mask[1, :4] = True  # 4 frames: steps 0 and 1
    mask[2, :3] = True  # 3 frames: exactly one full step
    mask[3, [2, 4]] = True  # not a prefix: any valid frame makes its step valid
    expected = [[True, True, True], [True, True, False], [True, False, False], [True, True, False]]
    assert ops.convert_to_numpy(layer.compute_mask(x, mask)).tolist() == expected
    assert layer.compute_mask(x, None) is None


def test_frame_stacking_config_round_trip():
    layer = FrameStacking(4, name="stack")
    assert layer.get_config()["stride"] == 4
    assert FrameStacking.from_config(layer.get_config()).stride == 4


def test_output_is_per_step_log_probabilities(model):
    x = np.stack([features(10, 1), features(10, 2)])
    log_probs = run(model, x)
    assert log_probs.shape == (2, 4, NUM_CLASSES)  # ceil(10 / 3) steps
    np.testing.assert_allclose(np.exp(log_probs).sum(-1), 1.0, atol=1e-5)
    assert np.all(log_probs <= 0)


def test_every_layer_is_named(model, cell, layer_norm):
    names = [layer.name for layer in model.layers]
    norm = lambda i: [f"layer_norm_{i}"] if layer_norm else []  # noqa: E731
    assert names == [
        "features", "padding_mask", "frame_stacking",
        f"bi{cell}_1", *norm(1), "dropout_1", f"bi{cell}_2", *norm(2), "dropout_2",
        "logits", "log_probs",
    ]  # fmt: skip
    recurrent = {"gru": keras.layers.GRU, "lstm": keras.layers.LSTM}[cell]
    assert isinstance(model.get_layer(f"bi{cell}_1").forward_layer, recurrent)


def test_no_frame_stacking_without_subsampling():
    net = build_model(NUM_FEATURES, NUM_CLASSES, tiny_settings(subsample=1, layers=1))
    assert "frame_stacking" not in [layer.name for layer in net.layers]
    assert run(net, features(7)[None]).shape == (1, 7, NUM_CLASSES)


def test_padded_utterance_matches_the_utterance_alone(model):
    # 8 frames -> 3 steps alone; batched with 20 frames it gets 12 zero frames (4 padded steps).
    short, long = features(8, 3), features(20, 4)
    alone = run(model, short[None])[0]
    padded = np.zeros_like(long)
    padded[:8] = short
    batched = run(model, np.stack([padded, long]))[0]
    np.testing.assert_allclose(batched[:3], alone, atol=1e-5)
    # The traced graph (`predict`, as evaluation runs it) propagates the mask too.
    traced = model.predict(np.stack([padded, long]), verbose=0)[0]
    np.testing.assert_allclose(traced[:3], alone, atol=1e-5)
    # Control: padding the mask cannot see (non-zero frames) does reach the backward RNN.
    unmasked = padded.copy()
    unmasked[8:] = 0.5
    leaked = run(model, np.stack([unmasked, long]))[0]
    assert np.abs(leaked[:3] - alone).max() > 1e-3


def test_conv_front_end_sits_between_stacking_and_recurrence_and_keeps_the_mask():
    keras.utils.set_random_seed(0)
    net = build_model(NUM_FEATURES, NUM_CLASSES, tiny_settings(conv_layers=2))
    names = [layer.name for layer in net.layers]
    assert names[:6] == ["features", "padding_mask", "frame_stacking", "conv_1", "conv_2", "bigru_1"]
    assert net.get_layer("conv_2").output.shape[-1] == 7
    # 8 frames -> 3 steps alone; batched beside 20 frames it gets 12 zero frames. A kernel of 3
    # reaches one step past the end: without masking the padding, step 3 would differ.
    short, long = features(8, 3), features(20, 4)
    alone = run(net, short[None])[0]
    padded = np.zeros_like(long)
    padded[:8] = short
    np.testing.assert_allclose(run(net, np.stack([padded, long]))[0][:3], alone, atol=1e-5)
    np.testing.assert_allclose(net.predict(np.stack([padded, long]), verbose=0)[0][:3], alone, atol=1e-5)


def test_conv_front_end_round_trips_through_save_and_load(tmp_path):
    keras.utils.set_random_seed(0)
    net = build_model(NUM_FEATURES, NUM_CLASSES, tiny_settings(conv_layers=1))
    x = np.stack([features(11, 5), np.concatenate([features(6, 6), np.zeros((5, NUM_FEATURES), "float32")])])
    net.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    assert isinstance(loaded.get_layer("conv_1"), MaskedConv1D)
    np.testing.assert_array_equal(run(loaded, x), run(net, x))


def test_save_and_load_give_identical_outputs(model, tmp_path):
    x = np.stack([features(11, 5), np.concatenate([features(6, 6), np.zeros((5, NUM_FEATURES), "float32")])])
    before = run(model, x)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    assert isinstance(loaded.get_layer("frame_stacking"), FrameStacking)
    assert loaded.get_layer("frame_stacking").stride == 3
    np.testing.assert_array_equal(run(loaded, x), before)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"cell": "rnn"}, "model.cell must be 'gru' or 'lstm', got 'rnn'"),
        ({"units": 0}, "model.units must be > 0, got 0"),
        ({"layers": 0}, "model.layers must be >= 1, got 0"),
        ({"dropout": 1.0}, r"model.dropout must be in \[0, 1\), got 1.0"),
        ({"dropout": -0.1}, r"model.dropout must be in \[0, 1\), got -0.1"),
        ({"subsample": 0}, "model.subsample must be >= 1, got 0"),
        ({"conv_layers": -1}, "model.conv_layers must be >= 0, got -1"),
        ({"conv_layers": 1, "conv_kernel": 0}, "model.conv_channels and model.conv_kernel must be >= 1, got 7 and 0"),
    ],
)
def test_settings_validation_names_the_key(changes, message):
    settings = ModelSettings(**{**vars(tiny_settings()), **changes})
    with pytest.raises(UserError, match=f"^{message}$"):
        settings.validate()
    with pytest.raises(UserError, match=f"^{message}$"):
        build_model(NUM_FEATURES, NUM_CLASSES, settings)


def test_valid_settings_pass():
    settings = tiny_settings("lstm")
    assert settings.validate() is settings
