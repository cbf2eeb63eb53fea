"""Synthesis speed of each corpus engine: seconds of audio per wall second, one process, real sentences."""

import time

import numpy as np

from asr.corpus.engines import open_engine
from asr.corpus.text_source import wordnet_sentences
from bench.timing import measure


def bench_synthesis(engines, options: dict, sentences: int, repeats: int) -> dict:
    """Per engine: median audio seconds per second over `repeats` passes of `sentences` sentences, and load time."""
    pool = wordnet_sentences(5, 20)
    texts = [pool[i] for i in np.random.default_rng(0).permutation(len(pool))[:sentences]]
    results = {}
    for name in engines:
        start = time.perf_counter()
        engine = open_engine(name, dict(options.get(name, {})))
        voices = engine.voices()
        load_seconds = time.perf_counter() - start
        rng = np.random.default_rng(0)

        def run():
            seconds = 0.0
            for k, text in enumerate(texts):
                audio, rate, _ = engine.speak(text, voices[k % len(voices)], rng)
                seconds += len(audio) / rate
            return seconds, {}

        try:
            results[name] = dict(**measure(run, repeats), load_seconds=round(load_seconds, 2))
        finally:
            engine.close()
    return dict(unit="audio s / s", sentences=sentences, **results)
