"""Bad input and faults in `asr transcribe`: one line naming the file and the reason, the rest still done, never a hang.

The model is untrained (tests/random_bundle.py): what is tested is what the command does with its input.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import REPO
from tests.corpus_fixtures import noise_burst, tone
from tests.random_bundle import write_random_bundle

pytestmark = pytest.mark.slow  # each call starts TensorFlow: seconds

RATE = 16000


def asr(*args, timeout=300):
    """The real command in a subprocess; a hang becomes a TimeoutExpired, i.e. a failure, not a stuck suite."""
    return subprocess.run([sys.executable, "-m", "asr.app.cli", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return write_random_bundle(tmp_path_factory.mktemp("random") / "bundle")


@pytest.fixture(scope="module")
def good_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("good")
    for k in range(2):
        sf.write(folder / f"good{k}.wav", tone(RATE, RATE, freq=300 + 200 * k), RATE, subtype="PCM_16")
    return sorted(folder.glob("*.wav"))


def printed_paths(stdout: str) -> list[str]:
    return [line.split("\t")[0] for line in stdout.splitlines()]


@pytest.mark.parametrize("kind", ["noise", "tone"])
def test_small_chunks_of_audio_without_a_pause_end(bundle, tmp_path, kind):
    audio = noise_burst(20 * RATE) if kind == "noise" else tone(RATE, 20 * RATE)
    sf.write(tmp_path / f"{kind}.wav", audio, RATE, subtype="PCM_16")
    result = asr("transcribe", "--model", bundle, "--chunk-seconds", 2, tmp_path / f"{kind}.wav", timeout=120)
    assert result.returncode == 0, result.stderr
    assert printed_paths(result.stdout) == [str(tmp_path / f"{kind}.wav")]


def truncated_flac(path: Path, seconds: int = 40) -> Path:
    """A long FLAC cut in half: its header opens fine, its data fails to decode halfway through."""
    sf.write(path, noise_burst(seconds * RATE), RATE, format="FLAC")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def garbage_float_wav(path: Path, seconds: int = 40) -> Path:
    """A long float WAV whose middle third is random bytes: NaN and inf where samples should be."""
    sf.write(path, noise_burst(seconds * RATE), RATE, subtype="FLOAT")
    data = bytearray(path.read_bytes())
    third = len(data) // 3
    data[third : 2 * third] = np.random.default_rng(0).integers(0, 256, third, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("make_bad, reason", [
    (truncated_flac, "unreadable audio after"),
    (garbage_float_wav, "non-finite samples (NaN or inf) after"),
])
def test_a_long_file_that_fails_halfway_is_one_line_and_the_others_are_transcribed(
        bundle, good_files, tmp_path, make_bad, reason):
    bad = make_bad(tmp_path / ("bad.flac" if make_bad is truncated_flac else "bad.wav"))
    result = asr("transcribe", "--model", bundle, "--chunk-seconds", 10, good_files[0], bad, good_files[1])
    assert result.returncode == 1, result.stderr
    assert printed_paths(result.stdout) == [str(good_files[0]), str(good_files[1])]
    problems = [line for line in result.stderr.splitlines() if line.startswith("asr: ")]
    assert len(problems) == 1 and problems[0].startswith(f"asr: {bad}: {reason}"), result.stderr
    assert "Traceback" not in result.stderr
