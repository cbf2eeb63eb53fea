"""The `asr` command: transcribe audio files and evaluate a trained model on a manifest."""

import argparse
import os
import sys

from asr.app.numeric_args import finite_number, whole_number

DEFAULT_MODEL = "models/bundle"  # paths.model in conf/config.yaml: where `dvc repro` puts the bundle
LM_BESIDE_BUNDLE = "lm"  # paths.lm is models/lm: the `lm` stage writes the LM beside models/bundle


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="asr", description="Character-level speech recognition (BiGRU/LSTM + CTC).")
    commands = parser.add_subparsers(dest="command", required=True)

    def add_model_options(sub):
        sub.add_argument("--model", default=DEFAULT_MODEL, help=f"model bundle directory (default: {DEFAULT_MODEL})")
        sub.add_argument("--decode", choices=("greedy", "beam", "lm"), default="greedy",
                         help="CTC decoding: greedy, beam, or lm (lexicon beam search with a word n-gram LM)")
        sub.add_argument("--beam-width", type=whole_number(1), default=16, help="beams for --decode beam (default: 16)")
        sub.add_argument("--lm-dir", default=None,
                         help="for --decode lm: the `lm` stage's output, words.arpa + lexicon.txt "
                              f"(default: {LM_BESIDE_BUNDLE}/ beside the --model directory, as `dvc repro` writes it)")
        sub.add_argument("--lm", metavar="FILE.arpa", help="for --decode lm: your own word ARPA LM (with --lexicon)")
        sub.add_argument("--lexicon", metavar="FILE", help="for --decode lm: your own lexicon (word<TAB>w o r d |)")
        sub.add_argument("--lm-text", metavar="FILE",
                         help="for --decode lm: build a small LM and lexicon from this text (one sentence a line): "
                              "the output uses only its words (names, commands)")
        sub.add_argument("--lm-weight", type=finite_number(0), default=1.0, help="LM weight (default: 1.0, tuned on dev)")
        sub.add_argument("--word-score", type=finite_number(), default=0.0, help="score added per word (default: 0.0)")
        sub.add_argument("--lm-beam", type=whole_number(1), default=50, help="hypotheses kept per step (default: 50)")
        sub.add_argument("--chunk-seconds", type=finite_number(1), default=30.0,
                         help="longer recordings are split at pauses into pieces of at most this length")
        sub.add_argument("--batch-size", type=whole_number(1), default=16,
                         help="pieces of audio run through the network together (default: 16)")

    transcribe = commands.add_parser("transcribe", help="print the text of audio files",
                                     description="Transcribe files or directories (searched recursively).")
    transcribe.add_argument("paths", nargs="+", metavar="PATH", help="audio files or directories")
    transcribe.add_argument("--json", action="store_true",
                            help="JSON lines: text, duration, seconds taken, character and word times "
                                 "(from a forced alignment, only computed for this output)")
    transcribe.add_argument("--raw-rate", type=whole_number(1), help="read files as headerless 16-bit mono PCM at this rate")
    add_model_options(transcribe)

    evaluate = commands.add_parser("evaluate", help="CER and WER on a manifest of audio and transcripts",
                                   description="Evaluate on a CSV/TSV with path and text columns "
                                               "(paths relative to the manifest).")
    evaluate.add_argument("manifest", metavar="MANIFEST", help="CSV or TSV with path and text columns")
    evaluate.add_argument("--output", default=None,
                          help="per-utterance predictions CSV (default: <manifest>.predictions.csv)")
    add_model_options(evaluate)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from asr.errors import UserError  # heavy imports after parsing, so --help is instant

    try:
        if args.command == "transcribe":
            from asr.app.commands import run_transcribe

            return run_transcribe(args)
        from asr.app.commands import run_evaluate

        return run_evaluate(args)
    except UserError as exc:
        print(f"asr: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
