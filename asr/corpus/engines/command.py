"""Run a synthesiser's command line that writes one WAV file, and read it back: never a hang, one-line errors."""

import subprocess
import tempfile
from pathlib import Path

import soundfile as sf

from asr.errors import UserError

TIMEOUT_SECONDS = 60  # a sentence takes well under a second; never hang on a stuck process


def speak_to_wav(command_for, what: str, text: str, stdin: str | None = None):
    """((samples,) float32, rate) from running `command_for(wav_path)`; `what` names the engine and voice in errors.

    `stdin`, if given, is written to the process (Festival reads its text there; Flite takes it as an argument).
    """
    with tempfile.TemporaryDirectory(prefix="synth-") as tmp:
        wav = Path(tmp) / "out.wav"
        try:
            done = subprocess.run(command_for(wav), input=stdin, capture_output=True, text=True,
                                  timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            raise UserError(f"{what}: no answer after {TIMEOUT_SECONDS} s for {text!r}") from None
        if done.returncode != 0 or not wav.is_file():
            raise UserError(f"{what} failed on {text!r}: {done.stderr.strip()[:200]}")
        return sf.read(wav, dtype="float32")
