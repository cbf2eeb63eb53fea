"""Bad input and faults in `asr transcribe`: one line naming the file and the reason, the rest still done, never a hang.

The model is untrained (tests/random_bundle.py): what is tested is what the command does with its input.
The commands that need no process of their own run in one `asr` process (tests/asr_in_one_process.py: each with
its own stdout, stderr and exit status), started once by the `runs` fixture; a closed stdout, a user's environment
and an escaping traceback each get a process of their own.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from tests.asr_in_one_process import run_asr_commands
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


def small_chunks_commands(bundle, good_files, tmp_path):
    commands = {}
    for kind in ("noise", "tone"):
        audio = noise_burst(20 * RATE) if kind == "noise" else tone(RATE, 20 * RATE)
        sf.write(tmp_path / f"{kind}.wav", audio, RATE, subtype="PCM_16")
        commands[kind] = ["transcribe", "--model", bundle, "--chunk-seconds", 2, tmp_path / f"{kind}.wav"]
    return commands


@pytest.mark.parametrize("kind", ["noise", "tone"])
def test_small_chunks_of_audio_without_a_pause_end(runs, kind):
    # a hang would stop the one process at its timeout: a failure, not a stuck suite
    ran, tmp_path = runs["small chunks"]
    result = ran[kind]
    assert result.returncode == 0, result.stderr
    assert printed_paths(result.out) == [str(tmp_path / f"{kind}.wav")]


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


FAILING_HALFWAY = [(truncated_flac, "unreadable audio after"), (garbage_float_wav, "non-finite samples (NaN or inf) after")]


def bad_file(make_bad, tmp_path: Path) -> Path:
    return tmp_path / ("bad.flac" if make_bad is truncated_flac else "bad.wav")


def failing_halfway_commands(bundle, good_files, tmp_path):
    return {make_bad: ["transcribe", "--model", bundle, "--chunk-seconds", 10, good_files[0],
                       make_bad(bad_file(make_bad, tmp_path)), good_files[1]] for make_bad, _ in FAILING_HALFWAY}


@pytest.mark.parametrize("make_bad, reason", FAILING_HALFWAY)
def test_a_long_file_that_fails_halfway_is_one_line_and_the_others_are_transcribed(
        good_files, runs, make_bad, reason):
    ran, tmp_path = runs["failing halfway"]
    bad = bad_file(make_bad, tmp_path)
    result = ran[make_bad]
    assert result.returncode == 1, result.stderr
    assert printed_paths(result.out) == [str(good_files[0]), str(good_files[1])]
    problems = [line for line in result.err.splitlines() if line.startswith("asr: ")]
    assert len(problems) == 1 and problems[0].startswith(f"asr: {bad}: {reason}"), result.stderr
    assert "Traceback" not in result.err


def test_a_closed_stdout_ends_the_command_quietly(bundle, good_files, tmp_path):
    # `asr transcribe folder/ | head -1`: the reader leaves after one line, the next print meets a closed pipe
    for k in range(60):
        (tmp_path / f"copy{k:02d}.wav").write_bytes(good_files[k % 2].read_bytes())
    command = [sys.executable, "-m", "asr.app.cli", "transcribe", "--model", str(bundle), "--batch-size", "1",
               str(tmp_path)]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=300) == 141, stderr  # 128 + SIGPIPE, as a C tool killed by the signal reports
    assert first.startswith(str(tmp_path / "copy00.wav"))
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr


# oneDNN's custom operations switch on by themselves only on some CPUs (AVX-512 ones); forced on, TensorFlow
# prints its absl and oneDNN start-up lines on any x86-64 CPU, so the test means the same on every machine.
ONEDNN_FORCED = {"TF_ENABLE_ONEDNN_OPTS": "1"}


def user_environment(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "ASR_NATIVE_LOGS")}
    return {**env, **ONEDNN_FORCED, **extra}  # as in a user's shell, on a CPU where oneDNN's custom ops are on


def test_no_tensorflow_start_up_lines_on_the_terminal(bundle, good_files):
    command = [sys.executable, "-m", "asr.app.cli", "transcribe", "--model", str(bundle), str(good_files[0])]
    quiet = subprocess.run(command, cwd=REPO, env=user_environment(), capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == "", quiet.stderr  # no oneDNN, absl::InitializeLog or DT_BOOL lines
    # control: the same run with the lines let through shows them, so the quiet run had some to hide
    shown = subprocess.run(command, cwd=REPO, env=user_environment(ASR_NATIVE_LOGS="1"), capture_output=True,
                           text=True, timeout=300)
    assert shown.returncode == 0 and "oneDNN custom operations are on" in shown.stderr, shown.stderr
    assert shown.stdout == quiet.stdout


def test_a_stage_log_has_its_own_lines_only(tmp_path):
    params = (REPO / "params.yaml").read_text().replace("  units: 128\n", "  units: 0\n")
    assert "units: 0" in params
    (tmp_path / "params.yaml").write_text(params)
    # stages.train imports TensorFlow before it validates the config: the start-up lines come first
    result = subprocess.run([sys.executable, "-m", "stages.train", "--params", str(tmp_path / "params.yaml")],
                            cwd=REPO, env=user_environment(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert result.stderr == "error: model.units must be > 0, got 0\n", result.stderr


def debug_commands(bundle, good_files, tmp_path):
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x00garbage" * 10)
    return {"plain": ["transcribe", "--model", tmp_path / "nope", good_files[0]],
            "bad file": ["transcribe", "--debug", "--model", bundle, tmp_path / "corrupt.wav", good_files[0]]}


def test_debug_shows_the_traceback_that_is_otherwise_one_line(good_files, runs):
    ran, tmp_path = runs["debug"]
    plain = ran["plain"]
    assert plain.returncode == 2 and plain.err.strip().count("\n") == 0 and "Traceback" not in plain.err
    # the traceback escapes main, so this one gets a process of its own
    debug = asr("transcribe", "--debug", "--model", tmp_path / "nope", good_files[0])
    assert debug.returncode != 0 and "Traceback" in debug.stderr and "model bundle not found" in debug.stderr
    # a bad file's line comes with the traceback of where it failed
    bad = ran["bad file"]
    assert bad.returncode == 1 and "Traceback" in bad.err and f"asr: {tmp_path / 'corrupt.wav'}: unreadable" in bad.err


LYING_RATES = (1, 2_147_483_647)


def lying_headers_commands(bundle, good_files, tmp_path):
    from tests.test_audio_limits import lying_rate_wav

    liars = [lying_rate_wav(tmp_path / f"rate{rate}.wav", rate) for rate in LYING_RATES]
    odd = tmp_path / "tab\tand\nnewline.wav"
    odd.write_bytes(good_files[0].read_bytes())
    return {"all": ["transcribe", "--model", bundle, good_files[0], *liars, odd]}


def test_lying_headers_and_odd_names_are_one_line_each_and_the_rest_is_transcribed(good_files, runs):
    ran, tmp_path = runs["lying headers"]
    liars = [tmp_path / f"rate{rate}.wav" for rate in LYING_RATES]
    odd = tmp_path / "tab\tand\nnewline.wav"
    result = ran["all"]
    assert result.returncode == 1, result.stderr
    # one stdout line per transcribed file, two tab-separated fields, whatever the file's name
    assert printed_paths(result.out) == [str(good_files[0]), str(odd).replace("\t", "\\t").replace("\n", "\\n")]
    problems = [line for line in result.err.splitlines() if line.startswith("asr: ")]
    assert problems == [f"asr: {liar}: implausible sample rate {rate} Hz in the header (accepted: 1000-768000 Hz)"
                        for liar, rate in zip(liars, LYING_RATES)], result.stderr


def bad_manifest_commands(bundle, good_files, tmp_path):
    for k, good in enumerate(good_files):
        (tmp_path / f"{'=-+@'[k]}x{k}.wav").write_bytes(good.read_bytes())
    (tmp_path / "m.csv").write_text("path,text\n=x0.wav,hello\n-x1.wav,\"Hello,\" she said\n"
                                    "-x1.wav,room 9 and 9, unquoted\n-x1.wav,room " + "9" * 400 + "\n-x1.wav,fine\n")
    return {"evaluate": ["evaluate", "--model", bundle, tmp_path / "m.csv"]}


def test_evaluate_names_the_bad_lines_of_a_manifest_and_scores_the_rest(runs):
    ran, tmp_path = runs["bad manifest"]
    result = ran["evaluate"]
    assert result.returncode == 1, result.stderr
    problems = [line for line in result.err.splitlines() if line.startswith("asr: ")]
    assert [p.split(": ")[2] for p in problems] == ["line 3", "line 4", "line 5"], result.stderr
    assert "number too long to say" in problems[2] and "Traceback" not in result.err
    assert "utterances 2  failed 3" in result.out
    predictions = pd.read_csv(tmp_path / "m.predictions.csv", keep_default_na=False)
    assert predictions["path"].tolist() == ["'=x0.wav", "'-x1.wav"]  # a spreadsheet shows them, never runs them


@pytest.fixture(scope="module")
def runs(bundle, good_files, tmp_path_factory):
    """Each test's `asr` commands, run in one process: {test: ({name: what it did}, the test's folder)}."""
    root = tmp_path_factory.mktemp("runs")
    # debug first: its missing model's stderr is counted line by line, as in a process of its own
    makers = {"debug": debug_commands, "small chunks": small_chunks_commands, "failing halfway": failing_halfway_commands,
              "lying headers": lying_headers_commands, "bad manifest": bad_manifest_commands}
    folders = {test: root / test.replace(" ", "_") for test in makers}
    commands = {}
    for test, make in makers.items():
        folders[test].mkdir()
        commands.update({(test, name): (args, None) for name, args in make(bundle, good_files, folders[test]).items()})
    ran = dict(zip(commands, run_asr_commands(commands.values(), root / "asr", timeout=600)))
    return {test: ({name: ran[test, name] for t, name in commands if t == test}, folders[test]) for test in makers}
