"""The network and its training: Keras model, CTC loss, tf.data input, training loop, checkpoints, inference.

May import asr.decoding, asr.features, asr.text and the shared leaves.
"""
