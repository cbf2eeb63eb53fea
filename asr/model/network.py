"""The inference network: masked features -> frame stacking -> [conv front-end] -> BiGRU/BiLSTM stack -> log-probabilities.

The model outputs per-step log-probabilities over the vocabulary (blank = index 0), so the same
tensor feeds `asr.model.loss.ctc_loss` during training and `asr.decoding.ctc.decode` at inference time.
"""

from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from asr.errors import UserError
from asr.model.frames import stacked_steps
from asr.model.recurrent import InputProjectedGRU, InputProjectedLSTM

# Keras' GRU/LSTM with the input projections of all steps in one product (Keras' own loop on a GPU)
CELLS = {"gru": InputProjectedGRU, "lstm": InputProjectedLSTM}


@dataclass
class ModelSettings:
    cell: str  # "gru" | "lstm"
    units: int  # per direction
    layers: int  # bidirectional layers
    dropout: float  # after each bidirectional layer, in [0, 1)
    subsample: int  # frames stacked per time step
    input_noise: float = 0.0  # std of Gaussian noise added to normalised features while training
    layer_norm: bool = False  # normalise each recurrent layer's output per step (faster, steadier training)
    conv_layers: int = 0  # 1-D convolutions over time before the recurrent stack (0: none)
    conv_channels: int = 256
    conv_kernel: int = 5  # steps each convolution sees (after stacking: 5 x 30 ms)

    def validate(self) -> "ModelSettings":
        """Raise UserError naming the first bad `model.*` key; return self when all are valid."""
        if self.cell not in CELLS:
            raise UserError(f"model.cell must be 'gru' or 'lstm', got {self.cell!r}")
        if self.units <= 0:
            raise UserError(f"model.units must be > 0, got {self.units}")
        if self.layers < 1:
            raise UserError(f"model.layers must be >= 1, got {self.layers}")
        if not 0.0 <= self.dropout < 1.0:
            raise UserError(f"model.dropout must be in [0, 1), got {self.dropout}")
        if self.subsample < 1:
            raise UserError(f"model.subsample must be >= 1, got {self.subsample}")
        if self.conv_layers < 0:
            raise UserError(f"model.conv_layers must be >= 0, got {self.conv_layers}")
        if self.conv_layers and (self.conv_channels < 1 or self.conv_kernel < 1):
            raise UserError(f"model.conv_channels and model.conv_kernel must be >= 1, got "
                            f"{self.conv_channels} and {self.conv_kernel}")
        if self.input_noise < 0:
            raise UserError(f"model.input_noise must be >= 0, got {self.input_noise}")
        return self


def stacked_length(frames, stride: int):
    """Time steps after stacking `frames` frames `stride` at a time: ceil(frames / stride)."""
    if isinstance(frames, (int, np.integer, np.ndarray)):
        return stacked_steps(frames, stride)
    return ops.floor_divide(ops.add(frames, stride - 1), stride)


@keras.saving.register_keras_serializable(package="asr")
class FrameStacking(keras.layers.Layer):
    """Concatenate each run of `stride` frames into one step, zero-padding the last run.

    (batch, frames, dim) -> (batch, ceil(frames / stride), dim * stride). The mask is
    downsampled the same way: a stacked step is valid if any of its frames is valid.
    """

    def __init__(self, stride: int, **kwargs):
        super().__init__(**kwargs)
        if stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        self.stride = int(stride)

    def call(self, inputs):
        # inputs: (batch, frames, dim); padded frames are already zero (Masking upstream)
        batch, frames, dim = ops.shape(inputs)[0], ops.shape(inputs)[1], inputs.shape[-1]
        missing = stacked_length(frames, self.stride) * self.stride - frames
        zeros = ops.zeros((batch, missing, dim), dtype=inputs.dtype)
        padded = ops.concatenate([inputs, zeros], axis=1)  # (batch, steps * stride, dim)
        return ops.reshape(padded, (batch, -1, dim * self.stride))

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        # (batch, frames) -> (batch, frames + stride - 1, 1): static right padding, so this also
        # traces symbolically; a valid max-pool of width and stride `stride` then leaves
        # ceil(frames / stride) windows starting at 0, stride, 2 * stride, ...
        # expand_dims, not [..., None]: a strided slice with a new axis is no LiteRT builtin op
        valid = ops.pad(ops.expand_dims(ops.cast(mask, "float32"), -1), ((0, 0), (0, self.stride - 1), (0, 0)))
        pooled = ops.max_pool(valid, pool_size=self.stride, strides=self.stride, padding="valid")
        return ops.greater(pooled[..., 0], 0.0)  # (batch, steps)

    def compute_output_shape(self, input_shape):
        batch, frames, dim = input_shape
        steps = None if frames is None else stacked_length(frames, self.stride)
        return (batch, steps, None if dim is None else dim * self.stride)

    def get_config(self):
        return {**super().get_config(), "stride": self.stride}


@keras.saving.register_keras_serializable(package="asr")
class MaskedConv1D(keras.layers.Conv1D):
    """A 'same'-padded Conv1D that keeps padded steps at zero and passes the mask on to the recurrent layers.

    (batch, steps, dim) -> (batch, steps, filters). Without this the padding would leak into the
    last real steps' neighbours and the backward GRU would start on non-zero padding.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is not None:
            inputs = inputs * ops.cast(mask, inputs.dtype)[..., None]  # padded steps in: zero
        outputs = super().call(inputs)
        if mask is not None:
            outputs = outputs * ops.cast(mask, outputs.dtype)[..., None]  # padded steps out: zero
        return outputs

    def compute_mask(self, inputs, mask=None):
        return mask


def build_model(num_features: int, num_classes: int, settings: ModelSettings, recurrent_layers=None) -> keras.Model:
    """The inference network: (batch, frames, num_features) -> (batch, steps, num_classes) log-probs.

    recurrent_layers: {cell name: layer class}, CELLS unless given (bench/ compares Keras' own).
    """
    settings.validate()
    features = keras.Input(shape=(None, num_features), name="features")  # (batch, frames, 39)
    # Padded frames are exactly zero; a real mean/variance-normalised frame never is.
    x = keras.layers.Masking(mask_value=0.0, name="padding_mask")(features)
    if settings.input_noise > 0:
        # Training only (identity at inference): voices and sentences unseen in training generalise better.
        x = keras.layers.GaussianNoise(settings.input_noise, name="input_noise")(x)
    if settings.subsample > 1:
        # (batch, ceil(frames / s), 39 * s); the mask follows
        x = FrameStacking(settings.subsample, name="frame_stacking")(x)
    for i in range(1, settings.conv_layers + 1):
        # Local patterns across neighbouring steps (formant movements) learnt once, shared by every
        # voice; the recurrent layers then see (batch, steps, conv_channels).
        x = MaskedConv1D(settings.conv_channels, settings.conv_kernel, padding="same", activation="relu",
                         name=f"conv_{i}")(x)
    recurrent = (recurrent_layers or CELLS)[settings.cell]
    for i in range(1, settings.layers + 1):
        x = keras.layers.Bidirectional(
            recurrent(settings.units, return_sequences=True),
            merge_mode="concat",
            name=f"bi{settings.cell}_{i}",
        )(x)  # (batch, steps, 2 * units)
        if settings.layer_norm:
            # Per step over the 2 * units features: the next layer sees the same scale whatever the
            # voice or channel did to this one's activations. Padded steps stay masked downstream.
            x = keras.layers.LayerNormalization(name=f"layer_norm_{i}")(x)
        x = keras.layers.Dropout(settings.dropout, name=f"dropout_{i}")(x)
    # float32 even under the mixed_float16 policy (train.mixed_precision): a float16 log-softmax over
    # a long utterance loses the small probabilities CTC sums; under float32 this changes nothing.
    logits = keras.layers.Dense(num_classes, dtype="float32", name="logits")(x)  # (batch, steps, classes)
    log_probs = keras.layers.Activation("log_softmax", dtype="float32", name="log_probs")(logits)
    return keras.Model(features, log_probs, name=f"bi{settings.cell}_ctc")
