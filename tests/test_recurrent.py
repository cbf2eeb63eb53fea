"""InputProjectedGRU/LSTM compute Keras' GRU/LSTM exactly: outputs, gradients, masks, both directions, save/load.

A training GRU takes the hand-written gradient of asr/model/gru_gradient.py; its tests are the last ones here.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest
import tensorflow as tf

from asr.model import gru_gradient
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


@keras.saving.register_keras_serializable(package="tests")
class AutodiffLoopGRU(InputProjectedGRU):
    """The same layer, its training loop differentiated by TensorFlow (Bidirectional clones it by config)."""

    written_gradient = False


def uneven_batch():
    """Four utterances of 9, 6, 1 and 7 steps, the last one after 2 padded steps: (4, 9, DIM)."""
    x = np.random.default_rng(2).normal(size=(4, 9, DIM)).astype("float32") + 0.1
    x[1, 6:], x[2, 1:], x[3, :2] = 0.0, 0.0, 0.0
    return x


def gru_model(layer_class, bidirectional, **options):
    """(batch, steps, DIM) -> a list of output tensors, masked like the inference network."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, DIM))
    masked = keras.layers.Masking(0.0)(inputs)
    layer = layer_class(UNITS, **options)
    outputs = (keras.layers.Bidirectional(layer) if bidirectional else layer)(masked)
    return keras.Model(inputs, outputs)


def compiled_gradients(model):
    """tf.function x -> (outputs, gradients w.r.t. x, kernels and biases), batch and steps unknown when traced."""

    @tf.function(input_signature=[tf.TensorSpec((None, None, DIM), tf.float32)])
    def run(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            outputs = tf.nest.flatten(model(x, training=True))
            loss = tf.add_n([tf.reduce_sum(tf.sin(3.0 * (i + 1) * y)) for i, y in enumerate(outputs)])
        return outputs, tape.gradient(loss, [x, *model.trainable_variables])

    return run


# Bidirectional forces zero_output_for_mask=True on both directions; a lone layer keeps Keras' default
# (a padded step repeats the previous output) unless told, and returns the last output or its state.
GRU_SETTINGS = {
    "bidirectional": (True, dict(return_sequences=True)),
    "forward": (False, dict(return_sequences=True)),
    "go_backwards": (False, dict(return_sequences=True, go_backwards=True)),
    "go_backwards, zero output": (False, dict(return_sequences=True, go_backwards=True, zero_output_for_mask=True)),
    "last output and state": (False, dict(return_state=True)),
    "go_backwards, last output and state": (False, dict(return_state=True, go_backwards=True)),
}


@pytest.mark.parametrize("setting", sorted(GRU_SETTINGS))
def test_written_gru_gradient_is_keras_gradient(setting):
    bidirectional, options = GRU_SETTINGS[setting]
    reference = gru_model(keras.layers.GRU, bidirectional, **options)
    written = gru_model(InputProjectedGRU, bidirectional, **options)
    written.set_weights([w + 0.1 * np.sign(w) for w in reference.get_weights()])  # biases not zero
    reference.set_weights(written.get_weights())
    x = tf.constant(uneven_batch())
    (expected_outputs, expected_gradients), (outputs, gradients) = (compiled_gradients(m)(x) for m in (reference,
                                                                                                       written))
    assert len(outputs) == len(expected_outputs) and len(gradients) == 1 + 3 * (2 if bidirectional else 1)
    for expected, got in zip(expected_outputs, outputs):
        np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-6)
    for expected, got in zip(expected_gradients, gradients):  # inputs, then kernel, recurrent kernel, bias
        np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-5)
    np.testing.assert_array_equal(gradients[0].numpy()[1, 6:], 0.0)  # padding gets no gradient


def test_training_on_a_cpu_takes_the_written_gradient(monkeypatch):
    # The control for the test above: its gradients must come from gru_gradient._gradient, not autodiff.
    calls = []

    def counted(*args):
        calls.append(1)
        return written_gradient(*args)

    written_gradient = gru_gradient._gradient
    monkeypatch.setattr(gru_gradient, "_gradient", counted)
    x = tf.constant(uneven_batch())
    if tf.config.list_logical_devices("GPU"):
        pytest.skip("on a GPU Keras' cuDNN loop runs")
    compiled_gradients(gru_model(AutodiffLoopGRU, True, return_sequences=True))(x)
    assert not calls  # the bench's switch: the loop differentiated by TensorFlow
    compiled_gradients(gru_model(InputProjectedGRU, True, return_sequences=True))(x)
    assert len(calls) == 2  # traced once per direction
    model = gru_model(InputProjectedGRU, True, return_sequences=True)
    model(x, training=False)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x, training=False))
    tape.gradient(loss, model.trainable_variables)
    assert len(calls) == 2  # inference keeps Keras' loop (and exported graphs with it)
