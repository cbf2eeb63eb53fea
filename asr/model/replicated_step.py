"""The training update under a tf.distribute strategy (several replicas) and/or with float16 loss scaling.

Every replica receives the same GLOBAL batch and keeps its own contiguous slice of rows, so every
worker runs the same number of steps (collective ops hang when one worker has a batch more) and
the slices together are exactly the single-device batch. Gradients are summed over replicas
BEFORE clipping, so the clip and the non-finite check see the same global gradient as one device.
"""

import tensorflow as tf

from asr.model.loss import ctc_loss
from asr.model.network import stacked_length


def replica_rows(size, replica, replicas):
    """[start, stop) of this replica's contiguous rows of a global batch of `size` rows (the last ones may be empty)."""
    per_replica = (size + replicas - 1) // replicas
    start = tf.minimum(replica * per_replica, size)
    return start, tf.minimum(start + per_replica, size)


def make_replicated_train_step(strategy, model, optimizer, subsample: int, clipnorm: float, loss_scaling: bool):
    """One compiled update over all replicas of `strategy`: same interface as asr.model.training.make_train_step.

    `loss_scaling`: `optimizer` is a keras.optimizers.LossScaleOptimizer (mixed_float16): the loss is
    scaled up before differentiation so float16 gradients do not underflow, and unscaled before clipping.
    """
    dim = model.input_shape[-1]

    def replica_gradients(features, labels, feature_lengths, label_lengths):
        context = tf.distribute.get_replica_context()
        replica = context.replica_id_in_sync_group
        size = tf.shape(features)[0]  # the global batch
        start, stop = replica_rows(size, replica, context.num_replicas_in_sync)

        def slice_gradients():
            with tf.GradientTape() as tape:
                log_probs = model(features[start:stop], training=True)  # (rows, steps, classes), float32
                losses = ctc_loss(labels[start:stop], log_probs, label_lengths[start:stop],
                                  stacked_length(feature_lengths[start:stop], subsample))  # (rows,)
                # Divided by the GLOBAL batch: summed over replicas this is the single-device mean.
                loss = tf.nn.compute_average_loss(losses, global_batch_size=size)
                differentiated = optimizer.scale_loss(loss) if loss_scaling else loss
            gradients = tape.gradient(differentiated, model.trainable_variables)
            if loss_scaling:
                # The scale is a power of two: dividing is exact; an overflow leaves inf/NaN for the optimizer to see.
                gradients = [g / tf.cast(optimizer.dynamic_scale, g.dtype) for g in gradients]
            return gradients, losses, loss

        def no_rows():
            # A last, short batch can leave a replica nothing (the CTC kernel refuses 0 rows): it adds zeros.
            return [tf.zeros_like(v) for v in model.trainable_variables], tf.zeros((0,)), tf.constant(0.0)

        gradients, losses, loss = tf.cond(stop > start, slice_gradients, no_rows)
        gradients = context.all_reduce(tf.distribute.ReduceOp.SUM, gradients)
        gradients, norm = tf.clip_by_global_norm(gradients, clipnorm)
        loss = context.all_reduce(tf.distribute.ReduceOp.SUM, loss)
        # Same value on every replica (all-reduced inputs): all skip the batch or none does. With loss
        # scaling an overflow of the gradients alone is the optimizer's business (it lowers the scale).
        finite = tf.math.is_finite(loss) if loss_scaling else tf.math.is_finite(loss) & tf.math.is_finite(norm)
        if loss_scaling:
            gradients = [g * tf.cast(optimizer.dynamic_scale, g.dtype) for g in gradients]  # the optimizer unscales
        # Keras' optimizer sums gradients over replicas once more inside apply(): replica 0 hands it the
        # already-summed, clipped gradients and the others zeros, so that sum is exact (g + 0 = g).
        keep = tf.cast(tf.equal(replica, 0), gradients[0].dtype)
        return [g * keep for g in gradients], losses, finite

    def replica_apply(gradients):
        optimizer.apply(gradients, model.trainable_variables)

    @tf.function(input_signature=[
        tf.TensorSpec((None, None, dim), tf.float32),  # features (global batch, frames, dim)
        tf.TensorSpec((None, None), tf.int32),  # labels (global batch, max_label_length)
        tf.TensorSpec((None,), tf.int32),  # true frame counts
        tf.TensorSpec((None,), tf.int32),  # true label lengths
    ])
    def train_step(features, labels, feature_lengths, label_lengths):
        gradients, losses, finite = strategy.run(replica_gradients,
                                                 args=(features, labels, feature_lengths, label_lengths))
        finite = strategy.experimental_local_results(finite)[0]
        # The condition sits in cross-replica context: apply() synchronises replicas (merge_call).
        if finite:
            strategy.run(replica_apply, args=(gradients,))
        return strategy.gather(losses, axis=0), finite  # (global batch,) in batch order

    return train_step
