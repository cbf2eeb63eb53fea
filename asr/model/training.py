"""The training loop: CTC with true lengths, clipping, non-finite skipping, plateau or cosine LR, early stopping, resume."""

import contextlib
import math
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from asr.csvio import read_text_table
from asr.model.checkpoint import FORMAT, load_checkpoint, read_state, save_checkpoint
from asr.model.loss import ctc_loss
from asr.errors import UserError
from asr.model.inference import make_forward, predict_dataset
from asr.metrics import character_error_rate
from asr.model.distribute import STRATEGIES, agree_mean
from asr.model.network import stacked_length
from asr.model.replicated_step import make_replicated_train_step
from asr.model.spec_augment import SpecAugmentSettings

# train.mixed_precision -> the compute dtype (keras policy "mixed_<dtype>")
PRECISIONS = {False: "float32", True: "float16", "float16": "float16", "bfloat16": "bfloat16"}
OPTIMIZERS = {"adam": keras.optimizers.Adam, "adadelta": keras.optimizers.Adadelta, "sgd": keras.optimizers.SGD}


@dataclass(frozen=True)
class TrainSettings:
    seed: int
    batch_size: int
    epochs: int
    max_minutes: float
    optimizer: str
    learning_rate: float
    clipnorm: float
    lr_factor: float
    lr_patience: int
    min_learning_rate: float
    early_stopping_patience: int
    max_nonfinite_batches: int
    keep: str = "best"  # "best": the weights of the epoch with the lowest dev CER; "last": the final epoch's
    spec_freq_masks: int = 0
    spec_freq_width: int = 0
    spec_time_masks: int = 0
    spec_time_width: int = 0
    lr_schedule: str = "plateau"  # "plateau": reduce on a dev CER plateau; "cosine": decay to min over the epochs
    strategy: str = "default"  # asr.model.distribute.STRATEGIES; batch_size stays the global batch
    # False | "float16" (True is float16: GPUs, with a LossScaleOptimizer) | "bfloat16" (CPUs with AVX-512 BF16/AMX)
    mixed_precision: bool | str = False
    batch_frames: int | None = None  # batches of about this many padded frames (None: batch_size utterances)
    warmup_steps: int = 0  # the learning rate rises linearly over the first updates (large batches start steadier)

    # train.* keys the stage reads itself: where the weights start (asr.bundle.load_initial_bundle) and the tracked test sets
    STAGE_KEYS = ("init", "track")

    @classmethod
    def from_config(cls, train) -> "TrainSettings":
        """From the `train` config group, less the keys the stage reads itself."""
        return cls(**{key: value for key, value in dict(train).items() if key not in cls.STAGE_KEYS})

    def validate(self) -> None:
        checks = [
            ("train.batch_size", self.batch_size, self.batch_size >= 1),
            ("train.epochs", self.epochs, self.epochs >= 1),
            ("train.max_minutes", self.max_minutes, self.max_minutes > 0),
            ("train.optimizer", self.optimizer, self.optimizer in OPTIMIZERS),
            ("train.learning_rate", self.learning_rate, self.learning_rate > 0),
            ("train.clipnorm", self.clipnorm, self.clipnorm > 0),
            ("train.lr_factor", self.lr_factor, 0 < self.lr_factor < 1),
            ("train.lr_patience", self.lr_patience, self.lr_patience >= 1),
            ("train.early_stopping_patience", self.early_stopping_patience, self.early_stopping_patience >= 1),
            ("train.max_nonfinite_batches", self.max_nonfinite_batches, self.max_nonfinite_batches >= 0),
            ("train.keep", self.keep, self.keep in ("best", "last")),
            ("train.lr_schedule", self.lr_schedule, self.lr_schedule in ("plateau", "cosine")),
            ("train.strategy", self.strategy, self.strategy in STRATEGIES),
            ("train.mixed_precision", self.mixed_precision, self.mixed_precision in PRECISIONS),
            ("train.batch_frames", self.batch_frames, self.batch_frames is None or
             (isinstance(self.batch_frames, int) and self.batch_frames >= 1)),
            ("train.warmup_steps", self.warmup_steps, isinstance(self.warmup_steps, int) and self.warmup_steps >= 0),
            *((f"train.{key}", getattr(self, key), getattr(self, key) >= 0) for key in
              ("spec_freq_masks", "spec_freq_width", "spec_time_masks", "spec_time_width")),
        ]
        for key, value, ok in checks:
            if not ok:
                choices = {"train.optimizer": OPTIMIZERS, "train.strategy": STRATEGIES,
                           "train.mixed_precision": ("false", "float16", "bfloat16")}.get(key)
                extra = f" (one of {', '.join(choices)})" if choices else ""
                raise UserError(f"{key} has an invalid value: {value!r}{extra}")

    def masking(self) -> SpecAugmentSettings:
        return SpecAugmentSettings(self.spec_freq_masks, self.spec_freq_width, self.spec_time_masks,
                                   self.spec_time_width)

    def cosine_rate(self, epoch: int) -> float:
        """The learning rate of 1-based `epoch` on a half cosine from learning_rate (epoch 1) towards min_learning_rate."""
        progress = (epoch - 1) / self.epochs  # 0 at the first epoch, (epochs - 1) / epochs at the last
        return self.min_learning_rate + 0.5 * (self.learning_rate - self.min_learning_rate) * (1 + math.cos(math.pi * progress))

    @property
    def compute_dtype(self) -> str:
        """"float32", "float16" or "bfloat16": what the layers compute in (log-probs and CTC stay float32)."""
        return PRECISIONS[self.mixed_precision]

    @property
    def loss_scaling(self) -> bool:
        # float16's 5 exponent bits underflow small gradients; bfloat16 has float32's 8
        return self.compute_dtype == "float16"

    def warmup_rate(self, update: int, rate: float) -> float:
        """The learning rate of 1-based `update`: `rate` scaled by update / warmup_steps until warmup ends."""
        return rate * min(1.0, update / self.warmup_steps) if self.warmup_steps else rate

    def make_optimizer(self):
        optimizer = OPTIMIZERS[self.optimizer](learning_rate=self.learning_rate)
        # Dynamic loss scaling: float16 gradients of small losses would underflow to zero.
        return keras.optimizers.LossScaleOptimizer(optimizer) if self.loss_scaling else optimizer


def make_train_step(model, optimizer, subsample: int, clipnorm: float):
    """One compiled update. Returns per-utterance losses and whether the update was applied."""

    dim = model.input_shape[-1]

    @tf.function(input_signature=[
        tf.TensorSpec((None, None, dim), tf.float32),  # features (batch, frames, dim)
        tf.TensorSpec((None, None), tf.int32),  # labels (batch, max_label_length)
        tf.TensorSpec((None,), tf.int32),  # true frame counts
        tf.TensorSpec((None,), tf.int32),  # true label lengths
    ])
    def train_step(features, labels, feature_lengths, label_lengths):
        with tf.GradientTape() as tape:
            log_probs = model(features, training=True)  # (batch, steps, classes)
            losses = ctc_loss(labels, log_probs, label_lengths, stacked_length(feature_lengths, subsample))
            loss = tf.reduce_mean(losses)
        gradients = tape.gradient(loss, model.trainable_variables)
        gradients, norm = tf.clip_by_global_norm(gradients, clipnorm)
        # A NaN/inf loss or gradient would poison the weights and the optimizer's moments: skip the batch.
        finite = tf.math.is_finite(loss) & tf.math.is_finite(norm)
        if finite:
            optimizer.apply(gradients, model.trainable_variables)
        return losses, finite

    return train_step


def evaluate_dev(forward, dev_dataset, references: dict, vocab, subsample: int):
    """Mean CTC loss and greedy CER over the dev split."""
    losses, refs, hyps = [], [], []
    for row in predict_dataset(forward, dev_dataset, vocab, subsample):
        losses.append(row["loss"])
        refs.append(references[row["id"]])
        hyps.append(row["hypothesis"])
    finite = [x for x in losses if np.isfinite(x)]
    return (float(np.mean(finite)) if finite else float("nan")), character_error_rate(refs, hyps)


def fit(model, train_data, dev_dataset, dev_references: dict, vocab, settings: TrainSettings, subsample: int,
        checkpoint_dir, live, fingerprint: str, resume: bool, log=print, strategy=None, write_checkpoints=True,
        track=None):
    """Train until epochs, early stopping or the time budget; returns (best model, summary dict).

    `train_data(epoch)` gives that epoch's shuffled batches (seeded by the epoch, so a resumed run sees
    the same order as an uninterrupted one). `strategy`: a tf.distribute strategy that `model` was
    built under (None: one device); every worker sees the same global batches and decisions, and
    only one with `write_checkpoints` writes the checkpoint (all read it to resume).
    `track(forward)`: metrics of other test sets logged after every epoch for a learning curve (its time is not
    training time, and nothing is chosen by it).
    """
    with strategy.scope() if strategy else contextlib.nullcontext():
        optimizer = settings.make_optimizer()
        optimizer.build(model.trainable_variables)
        best_model = keras.models.clone_model(model)
    best_model.set_weights(model.get_weights())
    state = load_checkpoint(checkpoint_dir, model, optimizer, best_model) if resume else None
    if state is None:
        state = dict(fingerprint=fingerprint, epoch=0, best_cer=None, best_epoch=0, since_best=0,
                     since_lr_change=0, learning_rate=settings.learning_rate, seconds=0.0, skipped=[], stopped=None,
                     updates=0)
    else:
        log(f"train: resuming after epoch {state['epoch']} (best dev CER {state['best_cer']:.4f})")
        if state.pop("finished", False):  # a run that met its epochs or time budget, continued with a higher one
            state["stopped"] = None
        rewind_live(live, state["epoch"])
        state.setdefault("updates", 0)  # a checkpoint written before warmup existed
    optimizer.learning_rate = state["learning_rate"]
    if strategy is None and not settings.loss_scaling:
        train_step = make_train_step(model, optimizer, subsample, settings.clipnorm)
    else:
        train_step = make_replicated_train_step(strategy or tf.distribute.get_strategy(), model, optimizer, subsample,
                                                settings.clipnorm, loss_scaling=settings.loss_scaling)
    forward = make_forward(model)
    num_batches = None

    while state["epoch"] < settings.epochs and state["stopped"] is None:
        epoch, start = state["epoch"] + 1, time.perf_counter()
        if settings.lr_schedule == "cosine":
            state["learning_rate"] = settings.cosine_rate(epoch)
            optimizer.learning_rate = state["learning_rate"]
        losses, frames, batches = [], 0, 0
        bar = tqdm(train_data(epoch), total=num_batches, desc=f"epoch {epoch}/{settings.epochs}", unit="batch",
                   mininterval=1.0, leave=False)
        for batch in bar:
            state["updates"] += 1
            if state["updates"] <= settings.warmup_steps + 1 and settings.warmup_steps:
                # during warmup a fraction of the rate; the update after it sets the schedule's rate back
                optimizer.learning_rate = settings.warmup_rate(state["updates"], state["learning_rate"])
            batch_losses, applied = train_step(batch["features"], batch["labels"], batch["feature_lengths"],
                                               batch["label_lengths"])
            batches += 1
            if not bool(applied):
                _record_skipped(state, batch, batch_losses.numpy(), settings.max_nonfinite_batches, log)
                continue
            losses.append(float(tf.reduce_mean(batch_losses)))
            frames += int(tf.reduce_sum(batch["feature_lengths"]))
            bar.set_postfix(loss=f"{losses[-1]:.2f}", refresh=False)
        num_batches = batches
        train_seconds = time.perf_counter() - start
        dev_loss, dev_cer = evaluate_dev(forward, dev_dataset, dev_references, vocab, subsample)
        # Workers must agree on the time budget, or one stops while the others wait for it in a collective.
        epoch_seconds = agree_mean(strategy, time.perf_counter() - start)
        state["seconds"] += epoch_seconds
        _update_schedule(state, epoch, dev_cer, settings, optimizer, best_model, model)

        metrics = {"train/loss": float(np.mean(losses)) if losses else float("nan"), "dev/loss": dev_loss,
                   "dev/cer": dev_cer, "learning_rate": float(optimizer.learning_rate.numpy()),
                   "epoch_seconds": epoch_seconds, "train/frames_per_second": frames / max(train_seconds, 1e-9),
                   "train_hours": state["seconds"] / 3600, **(track(forward) if track else {})}
        for name, value in metrics.items():
            live.log_metric(name, round(value, 6))
        live.next_step()
        log(f"epoch {epoch}: train loss {metrics['train/loss']:.3f}, dev loss {dev_loss:.3f}, "
            f"dev CER {dev_cer:.4f}, lr {metrics['learning_rate']:.2g}, {epoch_seconds:.0f}s")
        state["epoch"] = epoch
        if state["stopped"] is None and state["seconds"] > settings.max_minutes * 60 and epoch < settings.epochs:
            state["stopped"] = f"{BUDGET_STOP} {settings.max_minutes} min reached"
        if write_checkpoints:
            save_checkpoint(checkpoint_dir, model, optimizer, best_model, state)

    state["finished"] = True
    if write_checkpoints:
        save_checkpoint(checkpoint_dir, model, optimizer, best_model, state)
    return (best_model if settings.keep == "best" else model), state


def rewind_live(live, completed_epochs: int) -> None:
    """Make dvclive continue at step == completed epochs, dropping rows of an epoch the kill cut short.

    (dvclive's own resume starts at the last logged step + 1, except after step 0, and knows
    nothing of our checkpoint.)
    """
    for tsv in Path(live.plots_dir, "metrics").rglob("*.tsv"):
        rows = read_text_table(tsv, sep="\t")  # as text: a "nan" loss or "0.1000" is written back as it was
        rows[rows["step"].astype(int) < completed_epochs].to_csv(tsv, sep="\t", index=False)
    live.step = completed_epochs


BUDGET_STOP = "time budget of"  # how state["stopped"] begins when train.max_minutes ended the run


def resume_fingerprint_settings(train: dict) -> dict:
    """The train settings a checkpoint must match to be resumed: all but the limits that only say when to stop.

    Raising train.epochs or train.max_minutes continues a run instead of starting it again; the loop is
    deterministic, so that ends where an uninterrupted run with the higher limit would. A cosine schedule's
    rates depend on train.epochs, so there it stays.
    """
    ignored = {"max_minutes"} | ({"epochs"} if train.get("lr_schedule", "plateau") != "cosine" else set())
    return {key: value for key, value in train.items() if key not in ignored}


def can_resume(checkpoint_dir, fingerprint: str, settings: TrainSettings | None = None) -> bool:
    """True if the checkpoint is a run with the same settings and data that is unfinished, or that met its
    epochs or time budget where `settings` now allow more (an early-stopped run is final)."""
    state = read_state(checkpoint_dir)
    if state is None or state.get("format") != FORMAT or state.get("fingerprint") != fingerprint:
        return False
    if not state.get("finished"):
        return True
    stopped = state.get("stopped")
    limits_only = stopped is None or stopped.startswith(BUDGET_STOP)
    return (settings is not None and limits_only and state["epoch"] < settings.epochs
            and state["seconds"] < settings.max_minutes * 60)


def _update_schedule(state, epoch, dev_cer, settings: TrainSettings, optimizer, best_model, model):
    """Keep the best weights; reduce the learning rate on a plateau (plateau schedule); stop early when patience runs out."""
    if state["best_cer"] is None or dev_cer < state["best_cer"]:
        state.update(best_cer=dev_cer, best_epoch=epoch, since_best=0, since_lr_change=0)
        best_model.set_weights(model.get_weights())
        return
    state["since_best"] += 1
    state["since_lr_change"] += 1
    if settings.lr_schedule == "plateau" and state["since_lr_change"] >= settings.lr_patience:
        new_rate = max(state["learning_rate"] * settings.lr_factor, settings.min_learning_rate)
        state.update(learning_rate=new_rate, since_lr_change=0)
        optimizer.learning_rate = new_rate
    if state["since_best"] >= settings.early_stopping_patience:
        state["stopped"] = f"early stopping: no dev CER improvement for {state['since_best']} epochs"


def _record_skipped(state, batch, losses, limit: int, log):
    ids = [i.decode() for i in batch["ids"].numpy()]
    bad = [i for i, loss in zip(ids, losses) if not np.isfinite(loss)] or ids
    state["skipped"].append(bad)
    log(f"train: skipped a batch with a non-finite loss or gradient; utterances: {', '.join(bad)}")
    if len(state["skipped"]) > limit:
        raise UserError(f"training diverged: {len(state['skipped'])} batches had non-finite losses "
                        f"(train.max_nonfinite_batches = {limit}); lower train.learning_rate or check the data")
