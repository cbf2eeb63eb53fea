"""Write a bundle's network as ONNX (tf2onnx through `keras.Model.export`) and LiteRT, beside its settings."""

import logging
import shutil
import warnings
from importlib.metadata import version
from pathlib import Path

from asr.atomic import atomic_dir, write_json
from asr.errors import UserError
from asr.export.onnx_runtime import EXPORT_FILE, INPUT_NAME, ONNX_FILE, SETTINGS_FILES

TFLITE_FILE = "model.tflite"


def export_bundle(bundle_dir, output_dir, tflite_batch: int = 1) -> dict:
    """Write model.onnx, model.tflite, the bundle's settings and export.json into `output_dir` (atomically).

    ONNX takes (batch, frames, dim) with both sizes free. LiteRT takes (tflite_batch, frames, dim): its builtin
    ops need the recurrent loop's per-step state (batch, units) to have a static shape, and a free batch would
    need the Flex (TensorFlow) delegate, which the interpreter in the TensorFlow wheel does not link.
    """
    bundle_dir, output_dir = Path(bundle_dir), Path(output_dir)
    if output_dir.is_file() or (output_dir.is_dir() and any(output_dir.iterdir())
                                and not (output_dir / EXPORT_FILE).is_file()):
        raise UserError(f"{output_dir}: exists and holds no earlier export; give a new or empty directory")
    import tensorflow as tf  # after the checks: seconds to import

    from asr.bundle import load_bundle
    bundle = load_bundle(bundle_dir)
    dim = bundle.features.dim
    logging.getLogger("tf2onnx").setLevel(logging.ERROR)
    with atomic_dir(output_dir) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf2onnx's numpy-2 FutureWarnings, the interpreter's deprecation notice
        bundle.model.export(str(tmp / ONNX_FILE), format="onnx", verbose=False,
                            input_signature=[tf.TensorSpec((None, None, dim), tf.float32, name=INPUT_NAME)])
        bundle.model.export(str(tmp / TFLITE_FILE), format="litert", verbose=False,
                            input_signature=[tf.TensorSpec((tflite_batch, None, dim), tf.float32, name=INPUT_NAME)],
                            target_spec={"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]})
        for name in SETTINGS_FILES:
            shutil.copy2(bundle_dir / name, tmp / name)
        summary = dict(onnx=ONNX_FILE, tflite=TFLITE_FILE, input=INPUT_NAME, onnx_input_shape=[None, None, dim],
                       tflite_input_shape=[tflite_batch, None, dim], classes=bundle.vocab.size,
                       output="log-probabilities (batch, ceil(frames / subsample), classes), blank = 0",
                       subsample=bundle.model_settings.subsample, source=str(bundle_dir),
                       versions={name: version(name) for name in ("tensorflow-cpu", "keras", "tf2onnx", "onnx")})
        write_json(tmp / EXPORT_FILE, summary)
    return summary
