"""GRU and LSTM layers that project every step's input in one matrix product before the recurrent loop.

Keras' own layers, off cuDNN, run the input projection inside the loop: at each step one small
(batch, dim) x (dim, gates * units) product, for instance 16 x 256 x 384, where a CPU spends most
of its time on the call rather than the arithmetic. These subclasses compute
(batch, steps, dim) x (dim, gates * units) once for all steps and leave only the recurrent product
inside the loop: the same function of the same weights (tests/test_recurrent.py), 1.25x faster
training steps on 2 CPU cores (bench: `python -m bench --only recurrent`).

The weights are Keras' own (kernel, recurrent_kernel, bias, same layout), so a bundle loads into
either class. On a GPU, and for any setting the fast loop does not cover (cell dropout, GRU with
reset_after=False), they defer to Keras, which picks cuDNN where it can. A training GRU's loop has its
gradient written out (asr/model/gru_gradient.py) rather than TensorFlow's autodiff of the loop.
"""

import keras
import tensorflow as tf
from keras import ops
# backend.rnn: the masked loop Keras' own layers run. It has no public name; keras.ops.scan knows nothing of masks.
from keras.src import backend

from asr.model.gru_gradient import has_written_gradient, masked_gru


def _keras_should_run(layer) -> bool:
    """True where the parent class's loop is the right one: cuDNN on a GPU, or cell settings the fast loop lacks."""
    cell = layer.cell
    if cell.dropout or cell.recurrent_dropout or not cell.use_bias:
        return True
    if getattr(cell, "reset_after", True) is False:
        return True
    return layer.use_cudnn in ("auto", True) and bool(tf.config.list_logical_devices("GPU"))


def _run_loop(layer, step, projected, initial_state, mask):
    """backend.rnn over projected inputs (batch, steps, gates * units), as keras.layers.RNN.inner_loop runs it."""
    return backend.rnn(step, projected, initial_state, go_backwards=layer.go_backwards, mask=mask,
                       unroll=layer.unroll, input_length=projected.shape[1],
                       zero_output_for_mask=layer.zero_output_for_mask, return_all_outputs=layer.return_sequences)


def _first(value):
    return value[0] if isinstance(value, (list, tuple)) else value


@keras.saving.register_keras_serializable(package="asr")
class InputProjectedGRU(keras.layers.GRU):
    """keras.layers.GRU (reset_after=True) with all steps' input projections in one product."""

    # False: training differentiates the loop below by autodiff (bench/ compares the two)
    written_gradient = True

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if _keras_should_run(self):
            return super().inner_loop(sequences, initial_state, mask, training=training)
        cell, units = self.cell, self.units
        input_bias, recurrent_bias = ops.unstack(cell.bias, 2, axis=0)  # each (3 * units,): z, r, h
        projected = ops.matmul(sequences, cell.kernel) + input_bias  # (batch, steps, 3 * units)
        if training and self.written_gradient and not self.unroll and has_written_gradient(cell):
            # inference (and so export) keeps the loop below: only the gradient differs
            return masked_gru(projected, _first(initial_state), cell.recurrent_kernel,
                              recurrent_bias, _first(mask), self.go_backwards, self.zero_output_for_mask,
                              self.return_sequences)

        def step(projected_t, states):
            h_previous = states[0]  # (batch, units)
            recurrent = ops.matmul(h_previous, cell.recurrent_kernel) + recurrent_bias  # (batch, 3 * units)
            z = cell.recurrent_activation(projected_t[:, :units] + recurrent[:, :units])
            r = cell.recurrent_activation(projected_t[:, units:2 * units] + recurrent[:, units:2 * units])
            candidate = cell.activation(projected_t[:, 2 * units:] + r * recurrent[:, 2 * units:])
            h = z * h_previous + (1 - z) * candidate
            return h, [h]

        return _run_loop(self, step, projected, [_first(initial_state)], _first(mask))


@keras.saving.register_keras_serializable(package="asr")
class InputProjectedLSTM(keras.layers.LSTM):
    """keras.layers.LSTM with all steps' input projections in one product."""

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if _keras_should_run(self):
            return super().inner_loop(sequences, initial_state, mask, training=training)
        cell, units = self.cell, self.units
        projected = ops.matmul(sequences, cell.kernel) + cell.bias  # (batch, steps, 4 * units): i, f, c, o

        def step(projected_t, states):
            h_previous, c_previous = states  # each (batch, units)
            gates = projected_t + ops.matmul(h_previous, cell.recurrent_kernel)  # (batch, 4 * units)
            i = cell.recurrent_activation(gates[:, :units])
            f = cell.recurrent_activation(gates[:, units:2 * units])
            c = f * c_previous + i * cell.activation(gates[:, 2 * units:3 * units])
            o = cell.recurrent_activation(gates[:, 3 * units:])
            h = o * cell.activation(c)
            return h, [h, c]

        return _run_loop(self, step, projected, list(initial_state), _first(mask))
