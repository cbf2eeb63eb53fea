"""Transcription speed (real-time factor) and CER: `asr transcribe` against PocketSphinx on the same audio."""

import numpy as np
import soundfile as sf

from asr.bundle import load_bundle
from asr.metrics import character_error_rate
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


def bench_transcription(manifest, prepared, bundle_dir, repeats: int) -> dict:
    paths = [str(prepared / p) for p in manifest["path"]]
    references = [normalise_text(t) for t in manifest["text"]]
    audio_seconds = float(manifest["duration"].sum())
    # As `asr transcribe` runs by default: text only (no forced alignment), batches of pieces.
    transcriber = Transcriber(load_bundle(bundle_dir), timings=False)
    transcriber.transcribe(paths[0])  # compile once, as a long-running user would
    sphinx = pocketsphinx_transcriber()

    def project_texts():
        return [result.text for _, result in transcriber.transcribe_many(paths)]

    def run(transcribe_all):
        def once():
            hypotheses = [normalise_text(text) for text in transcribe_all()]
            return audio_seconds, dict(cer=round(character_error_rate(references, hypotheses), 4))
        return once

    project = measure(run(project_texts), repeats)
    reference = measure(run(lambda: [sphinx(p) for p in paths]), repeats)
    for result in (project, reference):  # report speed as real-time factor too: wall seconds per audio second
        result["rtf"] = round(1 / result["median"], 5)
    return dict(unit="audio s / s", project=project, reference=reference, utterances=len(paths),
                audio_seconds=round(audio_seconds, 1))
