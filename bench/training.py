"""Training throughput (frames / s) and dev CER within one fixed wall-clock budget, per configuration."""

import time

import keras

from asr.data import make_dataset, read_labels
from asr.evaluation import make_forward
from asr.features import FeatureSettings, Normaliser
from asr.model import ModelSettings, build_model
from asr.training import evaluate_dev, filter_alignable, make_train_step
from asr.vocab import Vocabulary


def train_for(budget: float, model_settings: ModelSettings, batch_size: int, optimizer, data) -> dict:
    """Train from scratch until `budget` seconds pass (after a one-batch warm-up that compiles)."""
    keras.utils.set_random_seed(0)
    features_dir, labels, dev_labels, normaliser, vocab, dim = data
    model = build_model(dim, vocab.size, model_settings)
    optimizer.build(model.trainable_variables)
    step = make_train_step(model, optimizer, model_settings.subsample, clipnorm=5.0)
    frames, batches, start = 0, 0, None
    while start is None or time.perf_counter() - start < budget:
        for batch in make_dataset(features_dir, "train", labels, normaliser, batch_size, True, 0, dim):
            step(batch["features"], batch["labels"], batch["feature_lengths"], batch["label_lengths"])
            if start is None:  # the first batch traces and compiles: not part of the rate
                start = time.perf_counter()
                continue
            frames += int(batch["feature_lengths"].numpy().sum())
            batches += 1
            if time.perf_counter() - start >= budget:
                break
    elapsed = time.perf_counter() - start
    dev = make_dataset(features_dir, "dev", dev_labels, normaliser, 32, False, 0, dim)
    _, dev_cer = evaluate_dev(make_forward(model), dev, dict(zip(dev_labels.id, dev_labels.text)), vocab,
                              model_settings.subsample)
    return dict(median=frames / elapsed, min=frames / elapsed, max=frames / elapsed, seconds=round(elapsed, 1),
                repeats=1, batches=batches, dev_cer=round(dev_cer, 4), parameters=int(model.count_params()))


def bench_training(params, budget: float) -> dict:
    features_dir, labels_dir = params.paths.features, params.paths.labels
    project = ModelSettings(**params.model)
    features = FeatureSettings.load(f"{features_dir}/settings.json")
    data = (features_dir, None, None, Normaliser.load(f"{features_dir}/cmvn.json"),
            Vocabulary.load(f"{labels_dir}/vocab.json"), features.dim)
    results = {}
    configs = {
        "project": (project, params.train.batch_size, lambda: keras.optimizers.Adam(params.train.learning_rate)),
        # the Keras recipe: one Bidirectional(GRU(40)), no stacking, batch size 1, Adadelta(lr=1.0) as in Keras 2
        "reference": (ModelSettings("gru", 40, 1, 0.0, 1), 1, lambda: keras.optimizers.Adadelta(1.0)),
        "project_batch_1": (project, 1, lambda: keras.optimizers.Adam(params.train.learning_rate)),
    }
    for name, (settings, batch_size, optimizer) in configs.items():
        train_labels, _ = filter_alignable(read_labels(f"{labels_dir}/train.csv"), settings.subsample)
        dev_labels, _ = filter_alignable(read_labels(f"{labels_dir}/dev.csv"), settings.subsample)
        run_data = (data[0], train_labels, dev_labels, *data[3:])
        results[name] = train_for(budget, settings, batch_size, optimizer(), run_data)
        print(f"  training {name}: {results[name]['median']:.0f} frames/s, dev CER {results[name]['dev_cer']}",
              flush=True)
    return dict(unit="frames / s", budget_seconds=budget, **results)
