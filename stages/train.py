"""Stage `train`: labels + feature shards -> BiGRU/LSTM + CTC -> model bundle; dvclive curves."""

import contextlib
import tempfile
from pathlib import Path

from stages.entry import rebase_paths, stage_main, sweep_job_dir, write_job_record


def train(cfg) -> dict:
    """Train on cfg's features and labels; write the bundle, checkpoint and dvclive logs; return a summary."""
    # TensorFlow is imported here, not at module level, so `--help` and config errors stay fast.
    import keras
    import tensorflow as tf
    from dvclive import Live

    from asr.bundle import Bundle, load_initial_bundle, save_bundle
    from asr.errors import UserError
    from asr.evaluation.track import track_metrics, tracked_sets
    from asr.features.mfcc import FeatureSettings, Normaliser
    from asr.model.checkpoint import run_fingerprint, weights_digest
    from asr.model.data import make_dataset, read_alignable_splits
    from asr.model.distribute import describe_devices, make_strategy, writes_outputs
    from asr.model.network import ModelSettings, build_model
    from asr.model.training import TrainSettings, can_resume, fit, resume_fingerprint_settings
    from asr.text.labels import encode_labels
    from asr.text.vocab import Vocabulary

    model_settings, settings = ModelSettings(**cfg.model), TrainSettings.from_config(cfg.train)
    model_settings.validate()
    settings.validate()
    tracked = tracked_sets(cfg.train.track)
    strategy = make_strategy(settings.strategy)  # first: a multi-worker runtime must start before any op
    chief = writes_outputs(settings.strategy)
    print(describe_devices(settings.strategy, strategy), flush=True)
    keras.utils.set_random_seed(settings.seed)
    tf.config.experimental.enable_op_determinism()
    dtype = settings.compute_dtype
    keras.mixed_precision.set_global_policy("float32" if dtype == "float32" else f"mixed_{dtype}")

    features_dir, labels_dir = Path(cfg.paths.features), Path(cfg.paths.labels)
    features = FeatureSettings.load(features_dir / "settings.json")
    normaliser = Normaliser.load(features_dir / "cmvn.json")
    vocab = Vocabulary.load(labels_dir / "vocab.json")
    if vocab.unit == "phone" and (unspelled := [t.name for t in tracked if t.lm is None]):
        raise UserError(f"train.track: {', '.join(unspelled)}: a phone model (labels.unit=phone) is scored in words, "
                        "through a lexicon: give each tracked set `lm`, an `lm` stage's directory")
    initial = load_initial_bundle(cfg.train.init, cfg.paths.base, model_settings, features, vocab)
    if initial is not None:
        normaliser = initial.normaliser  # the input scale the given weights were trained on
    splits = read_alignable_splits(labels_dir, ("train", "dev"), model_settings.subsample,
                                   log=lambda line: print(f"train: {line}"))

    def dataset(split, shuffle, epoch=0):
        return make_dataset(features_dir, split, splits[split], normaliser, settings.batch_size, shuffle,
                            settings.seed, features.dim, settings.masking() if shuffle else None, epoch,
                            settings.batch_frames if shuffle else None)

    with strategy.scope() if strategy else contextlib.nullcontext():
        model = build_model(features.dim, vocab.size, model_settings)
    fingerprint = run_fingerprint([dict(cfg.model), resume_fingerprint_settings(dict(cfg.train))],
                                  [labels_dir / "train.csv", labels_dir / "dev.csv", features_dir / "cmvn.json"])
    resume = can_resume(cfg.paths.checkpoint, fingerprint, settings)
    if initial is not None and not resume:
        model.set_weights(initial.model.get_weights())
        print(f"train: starting from the weights of {cfg.train.init} (train.init)")
    track = None
    if tracked:
        tracked_bundle = Bundle(model, vocab, features, normaliser, model_settings)
        track = lambda forward: track_metrics(tracked_bundle, forward, tracked)  # noqa: E731
    # Workers other than the chief log to a directory that vanishes (TensorFlow's documented pattern).
    scratch = tempfile.TemporaryDirectory(prefix="asr-train-worker-")
    live = Live(cfg.paths.live if chief else scratch.name, resume=resume, dvcyaml=False, save_dvc_exp=False)
    # Dev CER is over the label symbols: characters, or phones with labels.unit=phone (a phone error rate).
    dev_references = {row.id: vocab.decode(encode_labels(row.label)) for row in splits["dev"].itertuples()}
    best_model, state = fit(
        model, lambda epoch: dataset("train", True, epoch), dataset("dev", False), dev_references,
        vocab, settings, model_settings.subsample, cfg.paths.checkpoint, live, fingerprint, resume,
        strategy=strategy, write_checkpoints=chief, track=track,
    )
    # Workers of one multi-worker run print the same digest: their copies of the weights agree bit for bit.
    print(f"train: final weights digest {weights_digest(model.get_weights())}")
    if strategy is not None or dtype != "float32":
        # The bundle holds a plain float32 model: no strategy, no half-precision compute at transcription.
        keras.mixed_precision.set_global_policy("float32")
        plain = build_model(features.dim, vocab.size, model_settings)
        plain.set_weights(best_model.get_weights())
        best_model = plain
    summary = dict(best_dev_cer=state["best_cer"], best_epoch=state["best_epoch"], epochs=state["epoch"],
                   train_minutes=round(state["seconds"] / 60, 2), stopped=state["stopped"] or "epochs done",
                   parameters=int(model.count_params()), skipped_batches=len(state["skipped"]))
    for key in ("best_dev_cer", "best_epoch", "train_minutes", "parameters"):
        live.summary[key] = summary[key]
    live.end()
    scratch.cleanup()
    if not chief:
        print(f"train: worker done (dev CER {state['best_cer']:.4f}); the chief writes the bundle")
        return summary
    save_bundle(cfg.paths.model, Bundle(best_model, vocab, features, normaliser, model_settings), summary)
    print(f"train: best dev CER {state['best_cer']:.4f} at epoch {state['best_epoch']} of {state['epoch']} "
          f"({summary['stopped']}), {summary['train_minutes']} min, {summary['parameters']} parameters "
          f"-> {cfg.paths.model}")
    return summary


def run(cfg):
    """Under DVC or a single Hydra run: train. In a Hydra multirun job: train, evaluate, record, return dev CER."""
    job_dir = sweep_job_dir()
    if job_dir is None:
        train(cfg)
        return None
    from asr.evaluation.report import DecodeSettings, evaluate_bundle

    cfg = rebase_paths(cfg, ("model", "checkpoint", "live", "eval"), job_dir)
    summary = train(cfg)
    metrics = evaluate_bundle(cfg.paths.model, cfg.paths.features, cfg.paths.labels, cfg.paths.eval,
                              DecodeSettings(**cfg.decode), cfg.data.get("heldout_engine"), cfg.paths.lm)
    write_job_record(job_dir, dict(dev_cer=metrics["dev_cer"], test_cer=metrics["test_cer"],
                                   heldout_cer=metrics["heldout_cer"],
                                   test_wer=metrics["test_wer"], train_minutes=summary["train_minutes"],
                                   best_epoch=summary["best_epoch"]))
    return metrics["dev_cer"]  # the objective for sweepers such as Optuna


if __name__ == "__main__":
    stage_main(run)
