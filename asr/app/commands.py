"""What `asr transcribe`, `asr evaluate` and `asr export` do, given parsed arguments."""

import json
import sys
import traceback
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from asr.atomic import write_csv
from asr.csvio import readable, read_rows, spreadsheet_safe
from asr.errors import AudioError, TextError, UserError
from asr.export.onnx_runtime import is_exported_model, load_exported
from asr.metrics import character_error_rate, utterance_cer, word_error_rate
from asr.text.normalise import apply_vocabulary, normalise_text
from asr.app.lm_options import lm_decoder
from asr.app.transcribe import Transcriber, collect_audio_files


def _transcriber(args, raw_rate=None, timings=False) -> Transcriber:
    # --beam-width, --chunk-seconds, --batch-size and the LM numbers were checked by argparse (numeric_args)
    bundle = load_model(args.model)
    return Transcriber(bundle, args.decode, args.beam_width, args.chunk_seconds, raw_rate,
                       batch_size=args.batch_size, timings=timings, lm_decoder=lm_decoder(args, bundle.vocab))


def load_model(path):
    """An `asr export` directory or .onnx file (onnxruntime, no TensorFlow), else a Keras bundle directory."""
    if Path(path).suffix.lower() == ".tflite":
        raise UserError(f"{path}: transcribe runs the .onnx beside it (or the bundle); .tflite is for LiteRT devices")
    if is_exported_model(path):
        return load_exported(path)
    from asr.bundle import load_bundle  # imports TensorFlow

    return load_bundle(path)


def _each(files, transcriber, debug=False):
    """Yield (path, Transcript or None) in order; bad files get one stderr line (--debug: and a traceback)."""
    with tqdm(total=len(files), desc="transcribe", unit="file", disable=len(files) < 2, file=sys.stderr) as bar:
        for path, result in transcriber.transcribe_many(files):
            bar.update()
            if isinstance(result, AudioError):
                if debug:
                    traceback.print_exception(result, file=sys.stderr)
                tqdm.write(f"asr: {readable(str(path))}: {result}", file=sys.stderr)
                result = None
            yield path, result


def run_transcribe(args) -> int:
    files = collect_audio_files(args.paths)
    if not files:
        raise UserError(f"no audio files found in {', '.join(args.paths)}")
    failed = 0
    for _path, result in _each(files, _transcriber(args, args.raw_rate, timings=args.json), args.debug):
        if result is None:
            failed += 1
        elif args.json:
            print(json.dumps(result.__dict__), flush=True)
        else:
            print(f"{readable(result.path)}\t{result.text}", flush=True)  # one line, two fields, whatever the name
    return 1 if failed else 0


def read_eval_manifest(manifest: Path, characters: str) -> tuple[pd.DataFrame, list[str]]:
    """path/text table -> (absolute paths and references normalised as the labels stage does, problems).

    A malformed line, or a text that cannot be normalised, is one problem ("line N: reason"); the other rows are kept.
    """
    if not manifest.is_file():
        raise UserError(f"{manifest}: manifest not found")
    sep = "\t" if manifest.suffix.lower() == ".tsv" else ","
    try:
        table, malformed = read_rows(manifest, sep, text_columns=("text",))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    missing = {"path", "text"} - set(table.columns)
    if missing:
        raise UserError(f"{manifest}: missing column(s) {', '.join(sorted(missing))}")
    problems = [f"line {line}: {reason}" for line, reason in malformed]
    references = []
    for row in table.itertuples():
        try:
            references.append(apply_vocabulary(normalise_text(row.text), characters, "drop_char")[0])
        except TextError as exc:
            problems.append(f"line {row.line}: cannot normalise the text: {exc}")
            references.append(None)
    table["audio"] = [manifest.parent / p for p in table["path"]]
    table["reference"] = references
    return table[table["reference"].notna()], problems


def run_evaluate(args) -> int:
    transcriber = _transcriber(args)
    manifest = Path(args.manifest)
    table, problems = read_eval_manifest(manifest, transcriber.bundle.vocab.characters)
    for problem in problems:
        print(f"asr: {readable(str(manifest))}: {problem}", file=sys.stderr)
    rows, failed = [], len(problems)
    results = dict(_each(list(table["audio"]), transcriber, args.debug))
    for row in table.itertuples():
        result = results.get(row.audio)
        if result is None:
            failed += 1
            continue
        rows.append(dict(path=row.path, reference=row.reference, hypothesis=result.text,
                         cer=round(utterance_cer(row.reference, result.text), 5), duration=result.duration,
                         seconds=result.seconds))
    if not rows:
        raise UserError(f"{manifest}: no utterance could be transcribed")
    predictions = pd.DataFrame(rows)
    output = Path(args.output) if args.output else manifest.with_suffix(".predictions.csv")
    write_csv(output, spreadsheet_safe(predictions))
    cer = character_error_rate(predictions.reference, predictions.hypothesis)
    wer = word_error_rate(predictions.reference, predictions.hypothesis)
    rtf = predictions.seconds.sum() / max(predictions.duration.sum(), 1e-9)
    print(f"CER {cer:.4f}  WER {wer:.4f}  utterances {len(rows)}  failed {failed}  RTF {rtf:.4f}")
    print(f"predictions: {output}")
    return 1 if failed else 0


def run_export(args) -> int:
    from asr.export.writer import export_bundle

    summary = export_bundle(args.model, args.output, args.tflite_batch)
    print(f"{args.output}: {summary['onnx']} (batch and frames free), {summary['tflite']} (batch "
          f"{args.tflite_batch}, frames free), {', '.join(summary['versions'])} versions in export.json")
    return 0
