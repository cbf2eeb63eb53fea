"""An untrained model bundle in seconds: for tests of the `asr` command's handling of input, not of its accuracy."""

from pathlib import Path

import numpy as np


def write_random_bundle(directory: Path) -> Path:
    """A complete, loadable bundle (tiny BiGRU, random weights, identity statistics) at `directory`."""
    import keras

    from asr.bundle import Bundle, save_bundle
    from asr.features.mfcc import FeatureSettings, Normaliser
    from asr.model.network import ModelSettings, build_model
    from asr.text.vocab import Vocabulary

    keras.utils.set_random_seed(0)
    features = FeatureSettings(sample_rate=16000)
    vocab = Vocabulary.from_characters(" abcdefghijklmnopqrstuvwxyz'")
    settings = ModelSettings(cell="gru", units=4, layers=1, dropout=0.0, subsample=3)
    model = build_model(features.dim, vocab.size, settings)
    normaliser = Normaliser(np.zeros(features.dim, np.float32), np.ones(features.dim, np.float32))
    save_bundle(directory, Bundle(model, vocab, features, normaliser, settings), summary={})
    return Path(directory)
