"""Festival (Debian packages `festival` and `festvox-kdlpc16k`) as a corpus engine: the US English
diphone voice ked_diphone, spoken by one long-lived `festival --pipe` process per engine.

Starting Festival (its lexicon and voice) costs about 0.4 s of CPU; synthesising a sentence with a
diphone voice costs a few milliseconds. `text2wave` per sentence therefore spent nearly all its time
starting up (measured: 0.45 s of CPU for one sentence, the same for five), so the engine keeps one
process and sends it a Scheme command per utterance, waiting for a marker line after each.

Festival's kal_diphone and cmu_us_slt* voices are reserved for outside evaluation and refused.
Festival is deterministic: the variation is its duration stretch and the target mean and spread
of the pitch contour (its int_lr_params), drawn per utterance.
"""

import select
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from asr.corpus.engines.command import TIMEOUT_SECONDS
from asr.corpus.engines.reserved import is_reserved
from asr.errors import UserError

# Voice -> the Debian package that installs it. Only English voices that are not reserved.
USABLE_VOICES = {"ked_diphone": "festvox-kdlpc16k"}
DONE = "asr-festival-done"  # printed by Festival after each command: the reply is complete


def festival_binary() -> str:
    path = shutil.which("festival")
    if path is None:
        raise UserError("engine festival is not installed: apt-get install festival festvox-kdlpc16k")
    return path


def voices() -> list[str]:
    """Usable Festival voices that are installed (never a reserved one)."""
    listing = subprocess.run([festival_binary(), "--pipe"], input="(print (voice.list))", capture_output=True, text=True,
                             timeout=TIMEOUT_SECONDS)
    listed = set(listing.stdout.replace("(", " ").replace(")", " ").split())
    return [v for v in USABLE_VOICES if v in listed and not is_reserved(v)]


def _range(key: str, values) -> tuple[float, float]:
    low, high = (float(v) for v in values)
    if not 0 < low <= high:
        raise UserError(f"data.festival.{key} must be [min, max] with 0 < min <= max, got {list(values)}")
    return low, high


class FestivalEngine:
    """Festival's ked_diphone; each utterance draws a duration stretch and a pitch mean and spread (Hz)."""

    name = "festival"

    def __init__(self, duration_stretch=(0.95, 1.3), pitch_mean=(85, 140), pitch_std=(10, 25)):
        self.binary = festival_binary()  # the path every process of this engine runs
        self._festival = None  # started on the first utterance, so a worker that never speaks Festival pays nothing
        self.duration_stretch = _range("duration_stretch", duration_stretch)
        self.pitch_mean = _range("pitch_mean", pitch_mean)
        self.pitch_std = _range("pitch_std", pitch_std)
        if not voices():
            raise UserError("engine festival has no usable voice: apt-get install festvox-kdlpc16k")

    def voices(self) -> list[str]:
        return voices()

    def speak(self, text: str, voice: str, rng: np.random.Generator):
        """((samples,) float32, rate, what was drawn) for `text`; all draws come from `rng`."""
        if is_reserved(voice) or voice not in USABLE_VOICES:
            raise UserError(f"Festival voice {voice!r} is not usable here (usable: {', '.join(USABLE_VOICES)}); "
                            f"kal_diphone and cmu_us_slt are reserved for outside evaluation")
        stretch = round(float(rng.uniform(*self.duration_stretch)), 3)
        mean = round(float(rng.uniform(*self.pitch_mean)), 1)
        spread = round(float(rng.uniform(*self.pitch_std)), 1)
        # Every setting is sent again for every utterance, so an utterance depends only on its own
        # draws, never on what the process spoke before. The voice sets its own int_lr_params, so
        # ours come after selecting it.
        quoted = text.replace("\\", "\\\\").replace('"', '\\"')
        wav = self._process().directory / "out.wav"
        wav.unlink(missing_ok=True)
        self._command(f"(voice_{voice})\n"
                      f"(Parameter.set 'Duration_Stretch {stretch})\n"
                      f"(set! int_lr_params '((target_f0_mean {mean}) (target_f0_std {spread}) "
                      f"(model_f0_mean 170) (model_f0_std 34)))\n"
                      f'(utt.save.wave (utt.synth (Utterance Text "{quoted}")) "{wav}" \'riff)\n',
                      f"festival {voice}", text)
        if not wav.is_file():
            raise UserError(f"festival {voice} failed on {text!r}: {self._process().errors()}")
        audio, rate = sf.read(wav, dtype="float32")
        return audio, rate, f"duration_stretch {stretch} pitch_mean {mean} pitch_std {spread}"

    def _process(self) -> "_FestivalProcess":
        if self._festival is None:
            self._festival = _FestivalProcess(self.binary)
        return self._festival

    def _command(self, scheme: str, what: str, text: str) -> None:
        """Send `scheme` and wait for the marker; a dead or stuck Festival is a UserError (and restarted next time)."""
        try:
            self._process().run(scheme)
        except UserError as exc:
            self.close()
            raise UserError(f"{what} on {text!r}: {exc}") from None

    def close(self) -> None:
        if self._festival is not None:
            self._festival.stop()
            self._festival = None


class _FestivalProcess:
    """One `festival --pipe` with line-buffered output (stdbuf), a scratch directory and a stderr log."""

    def __init__(self, binary: str):
        self._scratch = tempfile.TemporaryDirectory(prefix="festival-")
        self.directory = Path(self._scratch.name)
        self._stderr = open(self.directory / "stderr.txt", "w+")
        # Festival writes through C stdio: without stdbuf its replies would sit in a pipe buffer.
        self._proc = subprocess.Popen(["stdbuf", "-oL", binary, "--pipe"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=self._stderr, text=True, bufsize=1)

    def run(self, scheme: str) -> None:
        try:
            self._proc.stdin.write(f'{scheme}(print "{DONE}")\n')
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise UserError(f"Festival stopped: {self.errors()}") from None
        while True:
            ready, _, _ = select.select([self._proc.stdout], [], [], TIMEOUT_SECONDS)
            if not ready:
                raise UserError(f"no answer from Festival after {TIMEOUT_SECONDS} s")
            line = self._proc.stdout.readline()
            if not line:
                raise UserError(f"Festival stopped: {self.errors()}")
            if line.strip().strip('"') == DONE:
                return

    def errors(self) -> str:
        self._stderr.flush()
        return (self.directory / "stderr.txt").read_text(errors="replace").strip()[-200:] or "no message"

    def stop(self) -> None:
        if self._proc.poll() is None:
            try:
                self._proc.stdin.close()
                self._proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait()
        self._stderr.close()
        self._scratch.cleanup()
