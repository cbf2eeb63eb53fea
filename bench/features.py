"""Feature throughput (audio seconds per wall second): the parallel stage against a serial recipe loop."""

import tempfile
from pathlib import Path

import numpy as np
import python_speech_features as psf
import soundfile as sf

from asr.features.extract import extract_corpus, worker_start_method
from asr.features.mfcc import FeatureSettings
from bench.timing import measure


def reference_loop(paths) -> None:
    """The recipe: read each file, mfcc + delta + delta-delta, one after the other."""
    for path in paths:
        signal, rate = sf.read(path)
        mfcc = psf.mfcc(signal, rate, numcep=13, winfunc=np.hamming)
        delta = psf.delta(mfcc, 2)
        np.hstack([mfcc, delta, psf.delta(delta, 2)])


def bench_features(manifest, prepared: Path, workers: int, repeats: int) -> dict:
    audio_seconds = float(manifest["duration"].sum())
    paths = [str(prepared / p) for p in manifest["path"]]
    settings = FeatureSettings(sample_rate=16000)

    def project():
        with tempfile.TemporaryDirectory() as out:
            extract_corpus({"train": manifest}, prepared, out, settings, shard_size=500, workers=workers)
        return audio_seconds, {}

    def reference():
        reference_loop(paths)
        return audio_seconds, {}

    return dict(unit="audio s / s", project=measure(project, repeats), reference=measure(reference, repeats),
                utterances=len(paths), audio_seconds=round(audio_seconds, 1), workers=workers,
                start_method=worker_start_method())
