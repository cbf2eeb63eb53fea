"""Where a training epoch's time goes: input pipeline, forward, CTC loss, backward, clipping + optimizer, dev evaluation.

    python -m bench.step_profile                                  # the default (params.yaml), after `dvc repro`
    python -m bench.step_profile model.subsample=4 train.batch_frames=16000
    python -m bench.step_profile --autodiff-gru                   # the GRU trained through TensorFlow's gradient

Each part is timed on the same cached batches of one epoch, as a difference of compiled functions that
do a little more each time (forward; + CTC; the whole update: backward, clipping, Adam), so the shares add up to the
update; the input pipeline is timed alone and then as the real loop (pipeline + update), which shows
how much of it prefetching hides. Writes bench/step_profile.json (one entry per configuration).
"""

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402

from asr.atomic import write_json  # noqa: E402
from asr.features.mfcc import FeatureSettings, Normaliser  # noqa: E402
from asr.model.data import make_dataset, read_alignable_splits  # noqa: E402
from asr.model.inference import make_forward  # noqa: E402
from asr.model.loss import ctc_loss  # noqa: E402
from asr.model.network import ModelSettings, build_model, stacked_length  # noqa: E402
from asr.model.training import TrainSettings, evaluate_dev, make_train_step  # noqa: E402
from asr.text.vocab import Vocabulary  # noqa: E402
from bench.training import AUTODIFF_LAYERS  # noqa: E402


def timed(function, batches) -> float:
    """Seconds for `function` over every batch, after one call that traces it."""
    function(batches[0])
    start = time.perf_counter()
    for batch in batches:
        function(batch)
    return time.perf_counter() - start


def profile(params, recurrent_layers=None) -> dict:
    model_settings, settings = ModelSettings(**params.model), TrainSettings.from_config(params.train)
    features_dir, labels_dir = params.paths.features, params.paths.labels
    features = FeatureSettings.load(f"{features_dir}/settings.json")
    normaliser, vocab = Normaliser.load(f"{features_dir}/cmvn.json"), Vocabulary.load(f"{labels_dir}/vocab.json")
    splits = read_alignable_splits(labels_dir, ("train", "dev"), model_settings.subsample, log=lambda line: None)
    keras.utils.set_random_seed(settings.seed)

    def epoch(number):
        return make_dataset(features_dir, "train", splits["train"], normaliser, settings.batch_size, True,
                            settings.seed, features.dim, settings.masking(), number, settings.batch_frames)

    start = time.perf_counter()
    batches = list(epoch(1))
    pipeline = time.perf_counter() - start
    frames = sum(int(b["feature_lengths"].numpy().sum()) for b in batches)
    padded = sum(int(np.prod(b["features"].shape[:2])) for b in batches)

    model = build_model(features.dim, vocab.size, model_settings, recurrent_layers)
    optimizer = settings.make_optimizer()
    optimizer.build(model.trainable_variables)
    update = make_train_step(model, optimizer, model_settings.subsample, settings.clipnorm)
    spec = [tf.TensorSpec((None, None, features.dim), tf.float32), tf.TensorSpec((None, None), tf.int32),
            tf.TensorSpec((None,), tf.int32), tf.TensorSpec((None,), tf.int32)]

    def loss_of(x, labels, frame_lengths, label_lengths):
        steps = stacked_length(frame_lengths, model_settings.subsample)
        return tf.reduce_mean(ctc_loss(labels, model(x, training=True), label_lengths, steps))

    forward = tf.function(lambda x: model(x, training=True), input_signature=spec[:1])
    forward_ctc = tf.function(loss_of, input_signature=spec)

    def args(b):
        return b["features"], b["labels"], b["feature_lengths"], b["label_lengths"]

    seconds = dict(forward=timed(lambda b: forward(b["features"]).numpy(), batches))
    seconds["ctc_loss"] = timed(lambda b: forward_ctc(*args(b)).numpy(), batches) - seconds["forward"]
    # the backward pass and the update together: a gradient alone (a function of its own, returning every
    # gradient) can take longer than the whole compiled update, so their difference is not a time
    seconds["backward_and_optimizer"] = timed(lambda b: update(*args(b))[0].numpy(), batches) - sum(seconds.values())
    update_seconds = sum(seconds.values())
    start = time.perf_counter()
    for batch in epoch(2):  # what fit() does per batch, with its per-step reads of the loss
        losses, applied = update(*args(batch))
        bool(applied), float(tf.reduce_mean(losses))
    loop = time.perf_counter() - start
    dev = make_dataset(features_dir, "dev", splits["dev"], normaliser, settings.batch_size, False, 0, features.dim)
    references = dict(zip(splits["dev"].id, splits["dev"].text))
    compiled = make_forward(model)
    evaluate_dev(compiled, dev, references, vocab, model_settings.subsample)  # traces
    start = time.perf_counter()
    evaluate_dev(compiled, dev, references, vocab, model_settings.subsample)
    seconds["dev_evaluation"] = time.perf_counter() - start
    seconds["input_not_hidden"] = max(loop - update_seconds, 0.0)
    epoch_seconds = update_seconds + seconds["dev_evaluation"] + seconds["input_not_hidden"]
    return dict(batches=len(batches), frames=frames, padding=round(1 - frames / padded, 4),
                input_pipeline_alone_seconds=round(pipeline, 2), real_loop_seconds=round(loop, 2),
                frames_per_second=round(frames / loop), epoch_seconds=round(epoch_seconds, 2),
                seconds={k: round(v, 2) for k, v in seconds.items()},
                share={k: round(v / epoch_seconds, 3) for k, v in seconds.items()})


def main(argv=None) -> None:
    overrides = list(sys.argv[1:] if argv is None else argv)
    autodiff = "--autodiff-gru" in overrides  # the previous default: TensorFlow's gradient of the GRU loop
    overrides = [o for o in overrides if o != "--autodiff-gru"]
    params = OmegaConf.merge(OmegaConf.load("params.yaml"), OmegaConf.from_dotlist(overrides))
    result = dict(overrides=overrides, gru_gradient="autodiff of the loop" if autodiff else "hand-written",
                  **profile(params, AUTODIFF_LAYERS if autodiff else None))
    for part, share in result["share"].items():
        print(f"  {part:20s} {result['seconds'][part]:7.2f} s  {share:6.1%}")
    print(f"{result['frames_per_second']} frames/s in the real loop; {result['batches']} batches, "
          f"padding {result['padding']:.1%}; input pipeline alone {result['input_pipeline_alone_seconds']} s")
    # one entry per configuration profiled: "default", or its overrides
    path = Path("bench/step_profile.json")
    profiles = json.loads(path.read_text()) if path.is_file() else {}
    name = " ".join(overrides) or "default"
    profiles[f"{name}, autodiff GRU gradient" if autodiff else name] = result
    write_json(path, profiles)


if __name__ == "__main__":
    main()
