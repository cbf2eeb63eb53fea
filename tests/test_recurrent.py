"""InputProjectedGRU/LSTM compute Keras' GRU/LSTM exactly: outputs, gradients, masks, both directions, save/load."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest
import tensorflow as tf

from asr.model.recurrent import InputProjectedGRU, InputProjectedLSTM, _keras_should_run

PAIRS = {"gru": (keras.layers.GRU, InputProjectedGRU), "lstm": (keras.layers.LSTM, InputProjectedLSTM)}
UNITS, DIM = 5, 3


def bidirectional(layer_class, seed):
    """(batch, steps, DIM) -> (batch, steps, 2 * UNITS), masked like the inference network."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((None, DIM))
    masked = keras.layers.Masking(0.0)(inputs)
    outputs = keras.layers.Bidirectional(layer_class(UNITS, return_sequences=True))(masked)
    return keras.Model(inputs, outputs)


def padded_batch():
    """Two utterances of 7 and 4 steps, the second zero-padded: (2, 7, DIM)."""
    x = np.random.default_rng(1).normal(size=(2, 7, DIM)).astype("float32") + 0.1
    x[1, 4:] = 0.0
    return x


@pytest.fixture(params=sorted(PAIRS))
def pair(request):
    keras_class, projected_class = PAIRS[request.param]
    reference = bidirectional(keras_class, seed=0)
    projected = bidirectional(projected_class, seed=1)  # other random weights, then Keras' copied in
    projected.set_weights(reference.get_weights())
    return reference, projected


def test_same_outputs_as_keras_on_a_padded_batch(pair):
    reference, projected = pair
    if not tf.config.list_logical_devices("GPU"):  # on a CPU the fast loop is the one under test
        assert not _keras_should_run(projected.layers[-1].forward_layer)
    x = padded_batch()
    expected, got = reference(x).numpy(), projected(x).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-6)
    # The weights matter (not a copy of the input): a changed recurrent kernel changes the output.
    weights = projected.get_weights()
    weights[1] = weights[1] + 0.5
    projected.set_weights(weights)
    assert np.abs(projected(x).numpy() - expected).max() > 1e-3


def test_padding_does_not_reach_the_real_steps(pair):
    _, projected = pair
    x = padded_batch()
    alone = projected(x[1:2, :4]).numpy()[0]  # (4, 2 * UNITS)
    np.testing.assert_allclose(projected(x).numpy()[1, :4], alone, atol=1e-6)


def test_same_gradients_as_keras(pair):
    reference, projected = pair
    x = tf.constant(padded_batch())
    gradients = []
    for model in (reference, projected):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(model(x, training=True)))
        gradients.append([g.numpy() for g in tape.gradient(loss, model.trainable_variables)])
    assert len(gradients[0]) == len(gradients[1]) > 0
    for expected, got in zip(*gradients):
        np.testing.assert_allclose(got, expected, atol=1e-5)


def test_a_saved_model_loads_with_the_projected_layers(pair, tmp_path):
    _, projected = pair
    path = tmp_path / "model.keras"
    projected.save(path)
    loaded = keras.models.load_model(path)
    for direction in ("forward_layer", "backward_layer"):  # the same class comes back, not Keras' own
        assert type(getattr(loaded.layers[-1], direction)) is type(getattr(projected.layers[-1], direction))
    x = padded_batch()
    np.testing.assert_allclose(loaded(x).numpy(), projected(x).numpy(), atol=1e-6)


def test_settings_the_fast_loop_lacks_run_keras_own_loop():
    # Cell dropout is applied by Keras' loop; reset_after=False is another GRU: both must still be right.
    assert _keras_should_run(InputProjectedGRU(UNITS, dropout=0.1))
    assert _keras_should_run(InputProjectedLSTM(UNITS, recurrent_dropout=0.1))
    keras.utils.set_random_seed(0)
    reference = keras.layers.GRU(UNITS, reset_after=False, return_sequences=True)
    projected = InputProjectedGRU(UNITS, reset_after=False, return_sequences=True)
    assert _keras_should_run(projected)
    x = padded_batch()
    reference.build(x.shape)
    projected.build(x.shape)
    projected.set_weights(reference.get_weights())
    np.testing.assert_allclose(projected(x).numpy(), reference(x).numpy(), atol=1e-6)
