"""What `asr transcribe`, `asr evaluate` and `asr export` do, given parsed arguments."""

import sys
import traceback
from contextlib import ExitStack
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from asr.atomic import write_csv
from asr.csvio import readable, read_rows, spreadsheet_safe
from asr.errors import AudioError, TextError, UserError
from asr.export.onnx_runtime import is_exported_model, load_exported
from asr.metrics import character_error_rate, utterance_cer, word_error_rate
from asr.text.normalise import apply_vocabulary, normalise_text
from asr.app.lm_options import default_decoding, lm_decoder
from asr.app.formats import FORMATS
from asr.app.inputs import gather_inputs
from asr.app.outputs import check_output_directory, output_paths, write_output
from asr.app.transcribe import Transcriber


def _transcriber(args, raw_rate=None, timings=False) -> Transcriber:
    # --beam-width, --chunk-seconds, --batch-size and the LM numbers were checked by argparse (numeric_args)
    bundle = load_model(args.model)
    args.decode = default_decoding(args)
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


def _each(files, transcriber, debug=False, names=None):
    """Yield (path, Transcript or None) in order; bad files get one stderr line (--debug: and a traceback).

    `names` maps a path to what messages call it (standard input's temporary copy is "-").
    """
    names = names or {}
    with tqdm(total=len(files), desc="transcribe", unit="file", disable=len(files) < 2, file=sys.stderr) as bar:
        for path, result in transcriber.transcribe_many(files):
            bar.update()
            if isinstance(result, AudioError):
                if debug:
                    traceback.print_exception(result, file=sys.stderr)
                name = names.get(path, readable(str(path)))
                tqdm.write(f"asr: {name}: {str(result).replace(str(path), name)}", file=sys.stderr)
                result = None
            yield path, result


def chosen_format(args) -> str | None:
    """The --format name (--json is --format json; -o DIR writes txt unless told); None: path<TAB>text lines."""
    if args.json and args.format not in (None, "json"):
        raise UserError(f"--json is --format json: give one of --json and --format {args.format}")
    chosen = "json" if args.json else args.format
    return chosen or ("txt" if args.output_dir else None)


def run_transcribe(args) -> int:
    chosen = chosen_format(args)
    output = FORMATS[chosen] if chosen else None
    output_dir = Path(args.output_dir) if args.output_dir else None
    if output_dir:
        check_output_directory(output_dir)  # before standard input is read or the model loaded
    with ExitStack() as stack:  # holds standard input's temporary copy until every input is done
        inputs, unreadable = gather_inputs(args.paths, stack)
        for name, reason in unreadable:
            print(f"asr: {name}: {reason}", file=sys.stderr)
        if not inputs and unreadable:
            return 1
        if not inputs:
            raise UserError(f"no audio files found in {', '.join(args.paths)}")
        if chosen not in (None, "json") and not output_dir and len(inputs) > 1:
            raise UserError(f"--format {chosen} makes one document per input: give -o DIR for {len(inputs)} inputs")
        targets = output_paths(inputs, output_dir, output.extension) if output_dir else [None] * len(inputs)
        destinations = {item.path: (item.name, target) for item, target in zip(inputs, targets)}
        names = {path: name for path, (name, _) in destinations.items()}
        transcriber = _transcriber(args, args.raw_rate, timings=output is not None and output.needs_timings)
        failed = len(unreadable)
        for path, result in _each([item.path for item in inputs], transcriber, args.debug, names):
            if result is None or not _emit(result, *destinations[path], output, args.model):
                failed += 1
    return 1 if failed else 0


def _emit(result, name: str, target: Path | None, output, model: str) -> bool:
    """Print the transcript, or write it to `target`; False (with one stderr line) if it cannot be written."""
    result.path = name
    result.model = model
    if output is None:
        print(f"{readable(name)}\t{result.text}", flush=True)  # one line, two fields, whatever the name
    elif target is None:
        print(output.render(result.__dict__), end="", flush=True)
    else:
        try:
            write_output(target, output.render(result.__dict__))
        except OSError as exc:
            tqdm.write(f"asr: {name}: cannot write {target} ({exc.strerror or exc})", file=sys.stderr)  # under the bar
            return False
    return True


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
    table, problems = read_eval_manifest(manifest, transcriber.bundle.vocab.text_characters)
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
