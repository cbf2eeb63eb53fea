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
INIT_BASE = "base"  # train.init value that names the released base model (paths.base)


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


def init_directory(init: str | None, base_dir) -> Path | None:
    """The bundle directory train.init names (null: fresh weights, base: paths.base, else a directory)."""
    if init in (None, "", "null"):
        return None
    return Path(base_dir) if init == INIT_BASE else Path(init)


def differing_keys(bundle: Bundle, model_settings: ModelSettings, features: FeatureSettings, vocab: Vocabulary):
    """`key (here vs there)` for each setting in which this run's network or its inputs differ from `bundle`'s."""
    differ = []
    for prefix, here, there in (("model", asdict(model_settings), asdict(bundle.model_settings)),
                                ("features", asdict(features), asdict(bundle.features))):
        for key in sorted(set(here) | set(there)):
            if here.get(key) != there.get(key):
                differ.append(f"{prefix}.{key} ({here.get(key)!r} here, {there.get(key)!r} there)")
    if vocab.unit != bundle.vocab.unit:
        differ.append(f"labels.unit ({vocab.unit!r} here, {bundle.vocab.unit!r} there)")
    elif vocab.characters != bundle.vocab.characters:
        differ.append(f"labels.characters ({vocab.characters!r} here, {bundle.vocab.characters!r} there)")
    return differ


def load_initial_bundle(init: str | None, base_dir, model_settings, features, vocab) -> Bundle | None:
    """The bundle training starts from (train.init; None: fresh weights); a UserError naming every key that differs."""
    directory = init_directory(init, base_dir)
    if directory is None:
        return None
    try:
        bundle = load_bundle(directory)
    except UserError as exc:
        raise UserError(f"train.init={init}: {exc}") from None
    if differ := differing_keys(bundle, model_settings, features, vocab):
        raise UserError(f"train.init={init}: this run's settings differ from the bundle in {directory}: "
                        f"{', '.join(differ)}")
    return bundle
