"""`asr export` (ONNX and LiteRT) and `asr transcribe --model <export>` on onnxruntime, with a model trained here."""

import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from asr.decoding.ctc import decode
from asr.decoding.ctc_numpy import decode_numpy
from tests.conftest import REPO

# Log-probabilities are compared within 1e-4 (absolute, whole padded batch). All three runtimes compute in float32
# but order the sums differently (ONNX's GRU op, LiteRT's XNNPACK kernels, TensorFlow's matmuls), so rounding of
# about 1e-7 per operation accumulates through the recurrence: observed differences are 2e-6 to 7e-5 on the default
# 3 x BiGRU(128) model and this test's model. A wrong weight, gate order, mask or stacking shifts log-probabilities
# by 1e-2 or more, and every step's most probable class must agree exactly as well.
LOG_PROB_TOLERANCE = 1e-4
TFLITE_BATCH = 2

# Runs `asr` commands in one process, then says whether TensorFlow was imported: the test reads the last line.
RUN_AND_REPORT_IMPORTS = """
import json, sys
from asr.app.cli import main
for argv in json.loads(sys.argv[1]):
    print(f"exit status {main(argv)}", flush=True)
print(f"tensorflow imported: {'tensorflow' in sys.modules}; keras imported: {'keras' in sys.modules}")
"""


def asr_in_one_process(*argvs):
    result = subprocess.run([sys.executable, "-c", RUN_AND_REPORT_IMPORTS, json.dumps([list(map(str, a)) for a in argvs])],
                            cwd=REPO, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    return result.stdout, result.stdout.splitlines()[-1]


def asr(*args):
    return subprocess.run([sys.executable, "-m", "asr.app.cli", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=900)


@pytest.fixture(scope="module")
def exported(overfit_bundle, tmp_path_factory):
    bundle, _ = overfit_bundle
    out = tmp_path_factory.mktemp("export") / "exported"
    result = asr("export", out, "--model", bundle, "--tflite-batch", TFLITE_BATCH)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def recordings(overfit_bundle):
    """Three training utterances (paths, texts) and their normalised features, as transcription computes them."""
    from asr.bundle import load_bundle
    from asr.features.mfcc import compute_features

    bundle_dir, prepared = overfit_bundle
    bundle = load_bundle(bundle_dir)
    manifest = pd.read_csv(prepared / "train.csv").head(3)
    paths = [prepared / p for p in manifest.path]
    features = [bundle.normaliser.apply(compute_features(sf.read(p, dtype="float32")[0], bundle.features))
                for p in paths]
    return bundle, paths, list(manifest.text), features


def padded(features, frames=None):
    """(batch, frames, dim) zero-padded batch, each cut to `frames` if given."""
    frames = frames or max(len(f) for f in features)
    batch = np.zeros((len(features), frames, features[0].shape[1]), np.float32)
    for k, f in enumerate(features):
        batch[k, : min(len(f), frames)] = f[:frames]
    return batch


def assert_equal_log_probs(actual, expected):
    assert actual.shape == expected.shape
    assert np.abs(actual - expected).max() <= LOG_PROB_TOLERANCE
    assert (actual.argmax(-1) == expected.argmax(-1)).all()


def tflite_run(path, batch):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "use ai_edge_litert": the same interpreter, another wheel
        import tensorflow as tf

        interpreter = tf.lite.Interpreter(str(path))
    [source], [sink] = interpreter.get_input_details(), interpreter.get_output_details()
    interpreter.resize_tensor_input(source["index"], batch.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(source["index"], batch)
    interpreter.invoke()
    return interpreter.get_tensor(sink["index"])


@pytest.mark.slow
def test_onnx_and_tflite_equal_keras_on_real_features_of_two_lengths_in_a_batch(exported, recordings):
    from asr.export.onnx_runtime import load_exported

    bundle, _, _, features = recordings
    onnx_model = load_exported(exported)
    lengths = sorted(len(f) for f in features)
    assert lengths[0] < lengths[-1]
    # ONNX: any batch and frame count. The two longest padded to the longest, then all three cut shorter.
    for batch in (padded(features[:TFLITE_BATCH]), padded(features, frames=lengths[0] - 7), padded(features[2:])):
        expected = bundle.model(batch, training=False).numpy()
        assert_equal_log_probs(onnx_model.forward(batch), expected)
    # LiteRT: its fixed batch, two frame counts; the shorter utterance is padded, so the mask is exercised too.
    for frames in (lengths[-1], lengths[0] - 7):
        batch = padded(features[:TFLITE_BATCH], frames)
        assert_equal_log_probs(tflite_run(exported / "model.tflite", batch), bundle.model(batch, training=False).numpy())
    summary = json.loads((exported / "export.json").read_text())
    assert summary["tflite_input_shape"] == [TFLITE_BATCH, None, bundle.features.dim]


@pytest.mark.slow
def test_numpy_decoders_equal_keras_on_real_log_probs(recordings):
    from asr.model.network import stacked_length

    bundle, _, _, features = recordings
    log_probs = bundle.model(padded(features), training=False).numpy()
    steps = stacked_length(np.array([len(f) for f in features]), bundle.model_settings.subsample)
    for strategy, width in (("greedy", 1), ("beam", 1), ("beam", 4), ("beam", 16)):
        assert decode_numpy(log_probs, steps, strategy, width) == decode(log_probs, steps, strategy, width)


def test_numpy_beam_search_equals_tensorflows_on_random_outputs():
    """Flat and peaked distributions over few classes: where beams merge, drop out and come back."""
    rng = np.random.default_rng(7)
    for _ in range(30):
        batch, steps, classes = 3, int(rng.integers(1, 40)), int(rng.integers(2, 8))
        logits = rng.normal(size=(batch, steps, classes)) * rng.uniform(0.3, 5)
        log_probs = (logits - np.log(np.exp(logits).sum(-1, keepdims=True))).astype(np.float32)
        lengths = rng.integers(0, steps + 1, size=batch)
        for strategy, width in (("greedy", 1), ("beam", 1), ("beam", 2), ("beam", 5), ("beam", 16)):
            assert decode_numpy(log_probs, lengths, strategy, width) == decode(log_probs, lengths, strategy, width)


@pytest.mark.slow
def test_transcribe_with_the_onnx_export_gives_keras_text_without_tensorflow(overfit_bundle, exported, recordings,
                                                                              tmp_path):
    bundle_dir, _ = overfit_bundle
    _, paths, texts, _ = recordings
    lm_text = tmp_path / "sentences.txt"
    lm_text.write_text("\n".join(texts) + "\n")
    commands = [["--decode", "greedy"], ["--decode", "beam", "--beam-width", "8"], ["--decode", "lm", "--lm-text", lm_text],
                ["--json"]]

    def outputs(model):
        stdout, imports = asr_in_one_process(*(["transcribe", *paths, "--model", model, *c] for c in commands))
        lines = [line for line in stdout.splitlines() if not line.startswith(("exit status", "tensorflow"))]
        results = [json.loads(line) if line.startswith("{") else line for line in lines]
        for result in results:
            if isinstance(result, dict):
                result.pop("seconds")  # wall-clock time
                assert result.pop("model") == str(model)  # each names the model it ran, then they must agree
        return results, imports

    keras_results, keras_imports = outputs(bundle_dir)
    assert keras_imports == "tensorflow imported: True; keras imported: True"  # the check sees TensorFlow when it is there
    for model in (exported, exported / "model.onnx"):
        onnx_results, onnx_imports = outputs(model)
        assert onnx_imports == "tensorflow imported: False; keras imported: False"
        assert onnx_results == keras_results
    assert len(keras_results) == 4 * len(paths) and all(r for r in keras_results)


@pytest.mark.slow
def test_bad_exports_are_one_clear_line(overfit_bundle, exported, recordings, tmp_path):
    bundle_dir, _ = overfit_bundle
    audio = recordings[1][0]
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("vocab.json", "features.json", "cmvn.json", "model.json", "export.json"):
        (broken / name).write_bytes((exported / name).read_bytes())
    (broken / "model.onnx").write_bytes(b"not a model")
    incomplete = tmp_path / "incomplete"
    incomplete.mkdir()
    (incomplete / "model.onnx").write_bytes((exported / "model.onnx").read_bytes())
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    cases = [
        (["transcribe", audio, "--model", broken], f"{broken / 'model.onnx'}: cannot load the ONNX model"),
        (["transcribe", audio, "--model", incomplete / "model.onnx"], f"{incomplete / 'vocab.json'}: missing"),
        (["transcribe", audio, "--model", exported / "model.tflite"], "model.tflite: transcribe runs the .onnx"),
        (["export", occupied, "--model", bundle_dir], f"{occupied}: exists and holds no earlier export"),
    ]
    for args, reason in cases:
        result = asr(*args)
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1 and reason in result.stderr and "Traceback" not in result.stderr
    assert (occupied / "notes.txt").read_text() == "mine"
