"""The model bundle: everything transcription of a new file needs, loaded with safe_mode=True."""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import keras

from asr.atomic import atomic_dir, write_json
from asr.errors import UserError
from asr.features.mfcc import FeatureSettings, Normaliser
from asr.model.network import ModelSettings
from asr.text.vocab import Vocabulary

MODEL_FILE = "model.keras"


@dataclass
class Bundle:
    model: keras.Model  # (batch, frames, dim) normalised features -> (batch, steps, classes) log-probs
    vocab: Vocabulary
    features: FeatureSettings
    normaliser: Normaliser
    model_settings: ModelSettings


def save_bundle(directory, bundle: Bundle, summary: dict) -> None:
    """Write the bundle directory atomically (a crash leaves the previous bundle intact)."""
    with atomic_dir(directory) as tmp:
        bundle.model.save(tmp / MODEL_FILE)
        bundle.vocab.save(tmp / "vocab.json")
        bundle.features.save(tmp / "features.json")
        bundle.normaliser.save(tmp / "cmvn.json")
        write_json(tmp / "model.json", asdict(bundle.model_settings))
        write_json(tmp / "training.json", summary)


def load_bundle(directory) -> Bundle:
    """Load and cross-check a bundle; refuse one whose parts are missing or disagree."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(f"{directory}: model bundle not found (run `dvc repro` or pass --model DIR)")
    for name in (MODEL_FILE, "vocab.json", "features.json", "cmvn.json", "model.json"):
        if not (directory / name).is_file():
            raise UserError(f"{directory}: incomplete model bundle, {name} is missing")
    vocab = Vocabulary.load(directory / "vocab.json")
    features = FeatureSettings.load(directory / "features.json")
    normaliser = Normaliser.load(directory / "cmvn.json")
    try:
        model_settings = ModelSettings(**json.loads((directory / "model.json").read_text()))
        model = keras.saving.load_model(directory / MODEL_FILE, safe_mode=True)
    except (ValueError, TypeError, OSError) as exc:
        raise UserError(f"{directory}: cannot load the model ({str(exc).splitlines()[0]})") from None
    input_dim, output_dim = model.input_shape[-1], model.output_shape[-1]
    if not input_dim == features.dim == len(normaliser.mean):
        raise UserError(f"{directory}: feature sizes disagree: model takes {input_dim}, features.json gives "
                        f"{features.dim}, cmvn.json has {len(normaliser.mean)}")
    if output_dim != vocab.size:
        raise UserError(f"{directory}: model outputs {output_dim} classes but vocab.json has {vocab.size}")
    return Bundle(model, vocab, features, normaliser, model_settings)
