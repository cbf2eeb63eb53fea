"""Run an `asr export` directory's ONNX network on onnxruntime: no TensorFlow or Keras is imported."""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from asr.errors import UserError
from asr.features.mfcc import FeatureSettings, Normaliser
from asr.text.vocab import Vocabulary

ONNX_FILE = "model.onnx"
EXPORT_FILE = "export.json"
INPUT_NAME = "features"
SETTINGS_FILES = ("vocab.json", "features.json", "cmvn.json", "model.json")  # copied from the bundle as they are


@dataclass
class ExportedModel:
    """What a bundle gives transcription, with an onnxruntime session in place of the Keras model."""

    session: ort.InferenceSession
    vocab: Vocabulary
    features: FeatureSettings
    normaliser: Normaliser
    subsample: int  # frames stacked per output step (model.json)

    def forward(self, features: np.ndarray) -> np.ndarray:
        """(batch, frames, dim) normalised features, zero-padded -> (batch, steps, classes) log-probabilities."""
        return self.session.run(None, {INPUT_NAME: np.asarray(features, np.float32)})[0]


def is_exported_model(path) -> bool:
    """An .onnx file, or a directory `asr export` wrote."""
    path = Path(path)
    return path.suffix.lower() == ".onnx" or (path / EXPORT_FILE).is_file()


def load_exported(path) -> ExportedModel:
    """Load model.onnx (or the .onnx given) and the settings beside it; refuse missing or disagreeing parts."""
    path = Path(path)
    onnx_file = path if path.suffix.lower() == ".onnx" else path / ONNX_FILE
    directory = onnx_file.parent
    for file in (onnx_file, *(directory / name for name in SETTINGS_FILES)):
        if not file.is_file():
            raise UserError(f"{file}: missing from the exported model (write it with `asr export`)")
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: its graph-optimiser notices are not the user's business
    try:
        session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf/... types
        raise UserError(f"{onnx_file}: cannot load the ONNX model ({str(exc).strip().splitlines()[0]})") from None
    vocab = Vocabulary.load(directory / "vocab.json")
    features = FeatureSettings.load(directory / "features.json")
    normaliser = Normaliser.load(directory / "cmvn.json")
    subsample = int(json.loads((directory / "model.json").read_text())["subsample"])
    [model_input], [model_output] = session.get_inputs(), session.get_outputs()
    if model_input.name != INPUT_NAME or model_input.shape[-1] != features.dim:
        raise UserError(f"{onnx_file}: takes {model_input.name} {model_input.shape}, features.json gives "
                        f"(batch, frames, {features.dim}) {INPUT_NAME}")
    if model_output.shape[-1] != vocab.size:
        raise UserError(f"{onnx_file}: outputs {model_output.shape[-1]} classes but vocab.json has {vocab.size}")
    return ExportedModel(session, vocab, features, normaliser, subsample)
