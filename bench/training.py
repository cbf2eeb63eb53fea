"""Training throughput (frames / s) and dev CER within one fixed wall-clock budget, per configuration."""

import statistics
import time

import keras

from asr.model.data import make_dataset, read_labels
from asr.model.inference import make_forward
from asr.features.mfcc import FeatureSettings, Normaliser
from asr.model.network import CELLS, ModelSettings, build_model
from asr.model.recurrent import InputProjectedGRU
from asr.model.training import evaluate_dev, make_train_step
from asr.text.labels import filter_alignable
from asr.text.vocab import Vocabulary

KERAS_LAYERS = {"gru": keras.layers.GRU, "lstm": keras.layers.LSTM}


@keras.saving.register_keras_serializable(package="bench")
class AutodiffLoopGRU(InputProjectedGRU):
    """InputProjectedGRU trained through TensorFlow's gradient of its loop, not the hand-written one."""

    written_gradient = False


AUTODIFF_LAYERS = {**CELLS, "gru": AutodiffLoopGRU}


class Trainee:
    """One configuration trained from scratch in slices of wall-clock time, so configurations can take turns."""

    def __init__(self, model_settings: ModelSettings, batch_size: int, optimizer, data, recurrent_layers=None):
        keras.utils.set_random_seed(0)
        features_dir, labels, self.dev_labels, self.normaliser, self.vocab, self.dim = data
        self.features_dir, self.settings = features_dir, model_settings
        self.model = build_model(self.dim, self.vocab.size, model_settings, recurrent_layers)
        optimizer.build(self.model.trainable_variables)
        self.step = make_train_step(self.model, optimizer, model_settings.subsample, clipnorm=5.0)
        self.batches = self._endless(labels, batch_size)
        self._train_on(next(self.batches))  # the first batch traces and compiles: not part of any rate
        self.frames, self.count, self.seconds = 0, 0, 0.0

    def _endless(self, labels, batch_size):
        while True:  # epoch after epoch
            yield from make_dataset(self.features_dir, "train", labels, self.normaliser, batch_size, True, 0, self.dim)

    def _train_on(self, batch) -> int:
        self.step(batch["features"], batch["labels"], batch["feature_lengths"], batch["label_lengths"])
        return int(batch["feature_lengths"].numpy().sum())

    def train_slice(self, seconds: float) -> float:
        """Train for `seconds` more; frames per second in this slice."""
        frames, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            frames += self._train_on(next(self.batches))
            self.count += 1
        elapsed = time.perf_counter() - start
        self.frames, self.seconds = self.frames + frames, self.seconds + elapsed
        return frames / elapsed

    def dev_cer(self) -> float:
        dev = make_dataset(self.features_dir, "dev", self.dev_labels, self.normaliser, 32, False, 0, self.dim)
        _, cer = evaluate_dev(make_forward(self.model), dev, dict(zip(self.dev_labels.id, self.dev_labels.text)),
                              self.vocab, self.settings.subsample)
        return cer


def bench_training(params, budget: float, rounds: int, only=None) -> dict:
    """Each configuration gets `budget` seconds in `rounds` turns, taken in rotation: a slow spell of a shared
    machine then falls on every configuration alike, and the turns give a median and spread.

    only: names of the configurations to run (None: all)."""
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
        # the same network on Keras' own GRU/LSTM loop, which projects each step's input inside the loop
        "project_keras_loop": (project, params.train.batch_size, lambda: keras.optimizers.Adam(params.train.learning_rate),
                               KERAS_LAYERS),
        # the same layers, the GRU loop differentiated by TensorFlow instead of asr/model/gru_gradient.py
        "project_autodiff_gru": (project, params.train.batch_size,
                                 lambda: keras.optimizers.Adam(params.train.learning_rate), AUTODIFF_LAYERS),
    }
    configs = {name: config for name, config in configs.items() if only is None or name in only}
    trainees, rates = {}, {name: [] for name in configs}
    for name, (settings, batch_size, optimizer, *layers) in configs.items():
        train_labels, _ = filter_alignable(read_labels(f"{labels_dir}/train.csv"), settings.subsample)
        dev_labels, _ = filter_alignable(read_labels(f"{labels_dir}/dev.csv"), settings.subsample)
        trainees[name] = Trainee(settings, batch_size, optimizer(), (data[0], train_labels, dev_labels, *data[3:]),
                                 *layers)
    for _ in range(rounds):
        for name, trainee in trainees.items():
            rates[name].append(trainee.train_slice(budget / rounds))
    for name, trainee in trainees.items():
        results[name] = dict(median=statistics.median(rates[name]), min=min(rates[name]), max=max(rates[name]),
                             rates=[round(rate) for rate in rates[name]],
                             seconds=round(trainee.seconds, 1), repeats=rounds, batches=trainee.count,
                             frames=trainee.frames, dev_cer=round(trainee.dev_cer(), 4),
                             parameters=int(trainee.model.count_params()))
        print(f"  training {name}: {results[name]['median']:.0f} frames/s, dev CER {results[name]['dev_cer']}",
              flush=True)
    return dict(unit="frames / s", budget_seconds=budget, **results)
