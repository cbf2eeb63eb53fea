"""Frame arithmetic shared by the Keras network and the exported (ONNX) one; imports no TensorFlow."""

import numpy as np


def stacked_steps(frames, stride: int):
    """Time steps after stacking `frames` (an int or an array) `stride` at a time: ceil(frames / stride)."""
    if isinstance(frames, np.ndarray):
        return -(-frames // stride)
    return -(-int(frames) // stride)
