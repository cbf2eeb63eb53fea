"""Transcription speed (real-time factor) and CER: `asr transcribe` against PocketSphinx on the same audio."""

import numpy as np
import soundfile as sf

from asr.bundle import load_bundle
from asr.decoding.lexicon_beam import LexiconBeamSettings
from asr.evaluation.lm_decode import load_lm_decoder
from asr.metrics import character_error_rate, word_error_rate
from asr.text.normalise import normalise_text
from asr.app.transcribe import Transcriber
from bench.timing import measure


def pocketsphinx_transcriber():
    """PocketSphinx with its bundled en-us acoustic model, language model and dictionary."""
    from pocketsphinx import Decoder

    decoder = Decoder(samprate=16000, loglevel="FATAL")

    def transcribe(path) -> str:
        audio, _ = sf.read(path, dtype="int16")
        decoder.start_utt()
        decoder.process_raw(np.ascontiguousarray(audio).tobytes(), full_utt=True)
        decoder.end_utt()
        return decoder.hyp().hypstr if decoder.hyp() else ""

    return transcribe


def bench_transcription(manifest, prepared, bundle_dir, lm_dir, decode, repeats: int) -> dict:
    paths = [str(prepared / p) for p in manifest["path"]]
    references = [normalise_text(t) for t in manifest["text"]]
    audio_seconds = float(manifest["duration"].sum())
    # As `asr transcribe` runs by default: text only (no forced alignment), batches of pieces.
    bundle = load_bundle(bundle_dir)
    transcriber = Transcriber(bundle, timings=False)
    transcriber.transcribe(paths[0])  # compile once, as a long-running user would
    lm_settings = LexiconBeamSettings(beam=decode.lm_beam, lm_weight=decode.lm_weight, word_score=decode.word_score,
                                      beam_threshold=decode.lm_beam_threshold)
    with_lm = Transcriber(bundle, "lm", timings=False,
                          lm_decoder=load_lm_decoder(lm_dir, bundle.vocab, lm_settings, lexicon_free=False))
    with_lm.transcribe(paths[0])
    sphinx = pocketsphinx_transcriber()

    def texts_of(chosen):
        return lambda: [result.text for _, result in chosen.transcribe_many(paths)]

    def run(transcribe_all):
        def once():
            hypotheses = [normalise_text(text) for text in transcribe_all()]
            return audio_seconds, dict(cer=round(character_error_rate(references, hypotheses), 4),
                                       wer=round(word_error_rate(references, hypotheses), 4))
        return once

    project = measure(run(texts_of(transcriber)), repeats)
    project_lm = measure(run(texts_of(with_lm)), repeats)
    reference = measure(run(lambda: [sphinx(p) for p in paths]), repeats)
    for result in (project, project_lm, reference):  # report speed as real-time factor too: wall seconds per audio second
        result["rtf"] = round(1 / result["median"], 5)
    return dict(unit="audio s / s", project=project, project_lm=project_lm, reference=reference, utterances=len(paths),
                audio_seconds=round(audio_seconds, 1))
