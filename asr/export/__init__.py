"""The trained network outside TensorFlow: `asr export` writes ONNX and LiteRT files, onnx_runtime runs the ONNX one.

May import asr.bundle and everything below it; never asr.app or asr.evaluation. onnx_runtime imports no TensorFlow.
"""
