"""Keras' masked GRU recurrence (reset_after=True) with its gradient written out instead of left to TensorFlow.

TensorFlow differentiates a while_loop step by step: every intermediate of the forward loop goes onto
a TensorList and comes back off it in the backward one, and each step's gradient is a few dozen small
ops around three matrix products. On a CPU the calls, not the arithmetic, are the cost. Here:
- the forward loop does one product per step (h_{t-1} @ recurrent_kernel) and keeps four stacks;
- everything in the gradient that does not depend on the gradient flowing back is computed for all
  steps at once before the backward loop, which then does one product per step (d gates @ kernel^T)
  and three element-wise ops;
- the weight gradients are single products over all steps after it.
The input projection (batch, steps, dim) x kernel stays outside, so its gradient is ordinary autodiff.
Equal to Keras' own GRU, outputs and gradients, masks and go_backwards included: tests/test_recurrent.py.
"""

import keras
import tensorflow as tf


def has_written_gradient(cell) -> bool:
    """True where `cell` computes what this gradient is written for: tanh candidate, sigmoid gates."""
    return cell.activation is keras.activations.tanh and cell.recurrent_activation is keras.activations.sigmoid


def masked_gru(projected, initial_state, recurrent_kernel, recurrent_bias, mask, go_backwards: bool,
               zero_output_for_mask: bool, return_all_outputs: bool):
    """backend.rnn's (last_output, outputs, [state]) for a GRU over projected inputs (batch, steps, 3 * units).

    projected: inputs @ kernel + input bias, gates z, r, h; mask: (batch, steps) or None. As in
    backend.rnn, go_backwards gives the outputs in the order of the steps taken (last step first).
    """
    inputs = tf.transpose(projected, [1, 0, 2])  # (steps, batch, 3 * units)
    # a tensor read from the variable: its gradient, returned by gru_states, then reaches the variable
    recurrent_kernel = tf.convert_to_tensor(recurrent_kernel)
    if mask is None:
        mask = tf.ones(tf.shape(inputs)[:2], tf.bool)
    else:
        mask = tf.transpose(tf.reshape(tf.cast(mask, tf.bool), tf.shape(projected)[:2]))
    mask = mask[..., None]  # (steps, batch, 1)
    if go_backwards:
        inputs, mask = tf.reverse(inputs, [0]), tf.reverse(mask, [0])
    states = gru_states(inputs, initial_state, recurrent_kernel, recurrent_bias, mask)  # (steps, batch, units)
    # backend.rnn's output at a padded step: zero, or else the previous step's output, which for a GRU is
    # its state once a real step has come, and zero before that.
    shown = mask if zero_output_for_mask else tf.cumsum(tf.cast(mask, tf.int32), axis=0) > 0
    outputs = tf.where(shown, states, tf.zeros_like(states))
    last_output = outputs[-1]  # (batch, units)
    outputs = tf.transpose(outputs, [1, 0, 2]) if return_all_outputs else last_output[:, None]
    return last_output, outputs, [states[-1]]


@tf.custom_gradient
def gru_states(inputs, initial_state, recurrent_kernel, recurrent_bias, mask):
    """States h_t (steps, batch, units) of a GRU over time-major projected inputs (steps, batch, 3 * units).

    A padded step (mask (steps, batch, 1) false) keeps the previous state.
    """
    units = recurrent_kernel.shape[0]
    steps = tf.shape(inputs)[0]
    saved = dict(zr=_stack(inputs.dtype, steps, 2 * units), candidate=_stack(inputs.dtype, steps, units),
                 recurrent_h=_stack(inputs.dtype, steps, units), states=_stack(inputs.dtype, steps, units))
    inputs_zr = tf.TensorArray(inputs.dtype, size=steps).unstack(inputs[..., :2 * units])
    inputs_h = tf.TensorArray(inputs.dtype, size=steps).unstack(inputs[..., 2 * units:])
    masks = tf.TensorArray(tf.bool, size=steps).unstack(mask)

    def step(t, h_previous, saved):
        recurrent = tf.nn.bias_add(tf.matmul(h_previous, recurrent_kernel), recurrent_bias)  # (batch, 3 * units)
        recurrent_zr, recurrent_h = tf.split(recurrent, [2 * units, units], axis=1)
        zr = tf.sigmoid(inputs_zr.read(t) + recurrent_zr)  # (batch, 2 * units)
        z, r = tf.split(zr, 2, axis=1)
        candidate = tf.tanh(inputs_h.read(t) + r * recurrent_h)
        h = tf.where(masks.read(t), candidate + z * (h_previous - candidate), h_previous)
        new = dict(zr=zr, candidate=candidate, recurrent_h=recurrent_h, states=h)
        return t + 1, h, {name: saved[name].write(t, value) for name, value in new.items()}

    _, _, saved = tf.while_loop(lambda t, *_: t < steps, step, (tf.constant(0), initial_state, saved))
    saved = {name: stack.stack() for name, stack in saved.items()}  # each (steps, batch, ...)

    def gradient(d_states):
        return _gradient(saved, d_states, inputs.dtype, initial_state, recurrent_kernel, mask)

    return saved["states"], gradient


def _stack(dtype, steps, width):
    return tf.TensorArray(dtype, size=steps, element_shape=tf.TensorShape([None, width]))


def _gradient(saved, d_states, dtype, initial_state, recurrent_kernel, mask):
    """Gradients of sum(d_states * states) w.r.t. gru_states' inputs, initial state, recurrent kernel and bias."""
    units = recurrent_kernel.shape[0]
    steps = tf.shape(d_states)[0]
    states, candidate, recurrent_h = saved["states"], saved["candidate"], saved["recurrent_h"]
    z, r = tf.split(saved["zr"], 2, axis=-1)  # each (steps, batch, units)
    h_previous = tf.concat([initial_state[None], states[:-1]], axis=0)
    real = tf.cast(mask, dtype)  # (steps, batch, 1)
    # d h_t / d (gate pre-activation), per unit, on real steps; all but the incoming gradient, for all steps
    d_z = real * (h_previous - candidate) * z * (1 - z)
    d_h = real * (1 - z) * (1 - tf.square(candidate))
    d_r = d_h * recurrent_h * r * (1 - r)
    per_input = tf.concat([d_z, d_r, d_h], axis=-1)  # (steps, batch, 3 * units): d h_t / d projected inputs
    per_recurrent = tf.concat([d_z, d_r, d_h * r], axis=-1)  # d h_t / d (h_{t-1} @ recurrent_kernel + bias)
    kept = tf.where(mask, z, tf.ones_like(z))  # d h_t / d h_{t-1} outside the product: z, or 1 on a padded step
    d_states_t = tf.TensorArray(dtype, size=steps).unstack(d_states)
    per_recurrent_t = tf.TensorArray(dtype, size=steps).unstack(per_recurrent)
    kept_t = tf.TensorArray(dtype, size=steps).unstack(kept)
    recurrent_kernel_t = tf.transpose(recurrent_kernel)  # (3 * units, units)

    def step(t, d_h_next, totals):
        total = d_h_next + d_states_t.read(t)  # (batch, units): all of d loss / d h_t
        d_gates = tf.tile(total, [1, 3]) * per_recurrent_t.read(t)  # (batch, 3 * units)
        d_h_previous = total * kept_t.read(t) + tf.matmul(d_gates, recurrent_kernel_t)
        return t - 1, d_h_previous, totals.write(t, total)

    totals = _stack(dtype, steps, units)
    _, d_initial_state, totals = tf.while_loop(lambda t, *_: t >= 0, step,
                                               (steps - 1, tf.zeros_like(initial_state), totals))
    totals = tf.tile(totals.stack(), [1, 1, 3])  # (steps, batch, 3 * units)
    d_recurrent = totals * per_recurrent
    # sum over steps and batch of h_{t-1}^T d_gates_t: one (units, steps * batch) x (steps * batch, 3 * units)
    d_recurrent_kernel = tf.matmul(tf.reshape(h_previous, [-1, units]), tf.reshape(d_recurrent, [-1, 3 * units]),
                                   transpose_a=True)
    d_recurrent_bias = tf.reduce_sum(d_recurrent, axis=[0, 1])
    return totals * per_input, d_initial_state, d_recurrent_kernel, d_recurrent_bias, None
