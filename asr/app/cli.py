"""The `asr` command: transcribe audio files, evaluate a trained model on a manifest, export it to ONNX/LiteRT."""

import argparse
import os
import sys

from asr.app.formats import FORMATS
from asr.app.numeric_args import finite_number, whole_number
from asr.audio.limits import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE

DEFAULT_MODEL = "models/bundle"  # paths.model in conf/config.yaml: where `dvc repro` puts the bundle
# paths.base: the released base model, in the repository (models/base/provenance.json says how it was made)
BASE_MODEL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), os.pardir, "models", "base")
LM_BESIDE_BUNDLE = "lm"  # paths.lm is models/lm: the `lm` stage writes the LM beside models/bundle
LM_IN_BUNDLE = "lm"  # a released model's own LM (stages.release with release.lm): models/base/lm

# Exit statuses: 1 (some inputs failed, each named on stderr) comes from the commands themselves.
USAGE_ERROR = 2  # argparse's own status; also a missing model, manifest or language model
INTERNAL_ERROR = 3  # a bug: one line, the traceback with --debug
INTERRUPTED = 130  # 128 + SIGINT, as the shell reports Ctrl-C
STDOUT_CLOSED = 141  # 128 + SIGPIPE: what a C tool reports when `| head` stops reading
EXIT_STATUSES = ("exit status: 0 every input transcribed, 1 some inputs failed (each named on one stderr line), "
                 "2 usage error (or no model, manifest or LM), 3 internal error (--debug shows the traceback)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="asr", description="Character-level speech recognition (BiGRU/LSTM + CTC).",
                                     epilog=EXIT_STATUSES)
    commands = parser.add_subparsers(dest="command", required=True)

    def add_model_options(sub):
        sub.add_argument("--model", default=None,
                         help=f"model bundle directory (default: {DEFAULT_MODEL}, the one `dvc repro` trains; without "
                              f"it, the released base model models/base), or an `asr export` directory or its "
                              "model.onnx: runs on onnxruntime without loading TensorFlow")
        sub.add_argument("--decode", choices=("greedy", "beam", "lm"), default=None,
                         help="CTC decoding: greedy, beam, or lm (lexicon beam search with a word n-gram LM) "
                              f"(default: lm for a model that ships its LM in {LM_IN_BUNDLE}/, as models/base does, "
                              "else greedy)")
        sub.add_argument("--beam-width", type=whole_number(1), default=16, help="beams for --decode beam (default: 16)")
        sub.add_argument("--lm-dir", default=None,
                         help="for --decode lm: the `lm` stage's output, words.arpa + lexicon.txt "
                              f"(default: the model's own {LM_IN_BUNDLE}/, else {LM_BESIDE_BUNDLE}/ beside the --model "
                              "directory, as `dvc repro` writes it)")
        sub.add_argument("--lm", metavar="FILE.arpa", help="for --decode lm: your own word ARPA LM (with --lexicon)")
        sub.add_argument("--lexicon", metavar="FILE", help="for --decode lm: your own lexicon (word<TAB>w o r d |)")
        sub.add_argument("--lm-text", metavar="FILE",
                         help="for --decode lm: build a small LM and lexicon from this text (one sentence a line): "
                              "the output uses only its words (names, commands)")
        sub.add_argument("--lm-weight", type=finite_number(0), default=2.0, help="LM weight (default: 2.0, tuned on dev)")
        sub.add_argument("--word-score", type=finite_number(), default=0.0, help="score added per word (default: 0.0)")
        sub.add_argument("--lm-beam", type=whole_number(1), default=400, help="hypotheses kept per step (default: 400)")
        sub.add_argument("--chunk-seconds", type=finite_number(1), default=30.0,
                         help="longer recordings are split at pauses into pieces of at most this length")
        sub.add_argument("--batch-size", type=whole_number(1), default=16,
                         help="pieces of audio run through the network together (default: 16)")
        sub.add_argument("--debug", action="store_true",
                         help="show the traceback behind an error or a failed file, not only its one line")

    transcribe = commands.add_parser("transcribe", help="print the text of audio files",
                                     description="Transcribe files or directories (searched recursively).")
    transcribe.add_argument("paths", nargs="+", metavar="PATH",
                            help="audio files or directories; - reads standard input")
    transcribe.add_argument("--json", action="store_true",
                            help="JSON lines: text, duration, seconds taken, character and word times "
                                 "(from a forced alignment, only computed for this output); same as --format json")
    transcribe.add_argument("--format", choices=tuple(FORMATS),
                            help="txt: the text; tsv: start, end and text of segments cut at pauses; json: as --json; "
                                 "srt, vtt: subtitles, a cue per segment (default: path<TAB>text lines)")
    transcribe.add_argument("-o", "--output-dir", metavar="DIR",
                            help="write one file per input into DIR, named after it with the format's extension "
                                 "(default format there: txt)")
    transcribe.add_argument("--raw-rate", type=whole_number(MIN_SAMPLE_RATE, MAX_SAMPLE_RATE), help="read files as headerless 16-bit mono PCM at this rate")
    add_model_options(transcribe)

    evaluate = commands.add_parser("evaluate", help="CER and WER on a manifest of audio and transcripts",
                                   description="Evaluate on a CSV/TSV with path and text columns "
                                               "(paths relative to the manifest).")
    evaluate.add_argument("manifest", metavar="MANIFEST", help="CSV or TSV with path and text columns")
    evaluate.add_argument("--output", default=None,
                          help="per-utterance predictions CSV (default: <manifest>.predictions.csv)")
    add_model_options(evaluate)

    export = commands.add_parser("export", help="write the model as ONNX and TFLite (LiteRT) with its settings",
                                 description="Write model.onnx, model.tflite, vocab.json, features.json, cmvn.json, "
                                             "model.json and export.json into DIR: all that inference needs.")
    export.add_argument("output", metavar="DIR", help="new (or earlier export) directory")
    export.add_argument("--model", default=DEFAULT_MODEL, help=f"model bundle directory (default: {DEFAULT_MODEL})")
    export.add_argument("--tflite-batch", type=whole_number(1), default=1,
                        help="the .tflite's fixed batch size (frames stay free; ONNX takes any batch) (default: 1)")
    export.add_argument("--debug", action="store_true", help="show the traceback behind an error")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "model", "given") is None:
        args.model = default_model()
    # Before TensorFlow is imported: its C++ start-up lines (CPU features, oneDNN, absl) stay off the terminal.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from asr.errors import UserError  # heavy imports after parsing, so --help is instant
    from asr.native_log import native_logs_hidden, native_logs_wanted

    try:
        with native_logs_hidden(enabled=not (args.debug or native_logs_wanted())):
            status = run_command(args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit (an "Exception ignored" line)
        return status
    except BrokenPipeError:
        return leave_closed_stdout()
    except KeyboardInterrupt:
        return INTERRUPTED
    except UserError as exc:
        if args.debug:
            raise
        print(f"asr: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except Exception as exc:
        if args.debug:
            raise
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"asr: internal error: {type(exc).__name__}: {reason} (rerun with --debug for the traceback)",
              file=sys.stderr)
        return INTERNAL_ERROR


def default_model() -> str:
    """models/bundle where `dvc repro` has trained one, else the released base model (said on stderr)."""
    if os.path.isdir(DEFAULT_MODEL) or not os.path.isdir(BASE_MODEL):
        return DEFAULT_MODEL  # a missing bundle is then reported where it is loaded
    base = os.path.relpath(os.path.normpath(BASE_MODEL))
    print(f"asr: no trained bundle at {DEFAULT_MODEL}: using the released base model {base}", file=sys.stderr)
    return base


def run_command(args) -> int:
    if args.command == "transcribe":
        from asr.app.commands import run_transcribe

        return run_transcribe(args)
    if args.command == "export":
        from asr.app.commands import run_export

        return run_export(args)
    from asr.app.commands import run_evaluate

    return run_evaluate(args)


def leave_closed_stdout() -> int:
    """The reader of stdout went away (`| head -1`): stop quietly, as Python's docs recommend for SIGPIPE.

    stdout is pointed at /dev/null so the interpreter's final flush of what is left in its buffer cannot fail again.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return STDOUT_CLOSED

if __name__ == "__main__":
    sys.exit(main())
