"""The LM decoder that `--decode lm` asks for: the `lm` stage's, a user's ARPA + lexicon, or one built from text."""

import sys
import tempfile
from pathlib import Path

from asr.app.cli import LM_BESIDE_BUNDLE, LM_IN_BUNDLE
from asr.decoding.lexicon_beam import LexiconBeamDecoder, LexiconBeamSettings
from asr.errors import UserError
from asr.evaluation.lm_decode import LEXICON, load_lm_decoder, word_lm
from asr.lm.corpus_text import lm_sentences
from asr.lm.lexicon import write_lexicon
from asr.lm.ngram import estimate_arpa
from asr.text.normalise import normalise_each
from asr.corpus.pronounce import lexicon_spellings
from asr.text.vocab import Vocabulary

TEXT_LM_ORDER = 3


def lm_decoder(args, vocab: Vocabulary) -> LexiconBeamDecoder | None:
    """None unless --decode lm; then from --lm-text, from --lm + --lexicon, or from --lm-dir."""
    if args.decode != "lm":
        return None
    settings = LexiconBeamSettings(beam=args.lm_beam, lm_weight=args.lm_weight, word_score=args.word_score)
    if args.lm_text:
        return text_lm_decoder(Path(args.lm_text), vocab, settings)
    if args.lm or args.lexicon:
        if not (args.lm and args.lexicon):
            raise UserError("--lm and --lexicon go together (a word LM needs the spelling of its words)")
        for path in (args.lm, args.lexicon):
            if not Path(path).is_file():
                raise UserError(f"{path}: no such file")
        return LexiconBeamDecoder(vocab, args.lm, args.lexicon, settings)
    lm_dir = args.lm_dir if args.lm_dir is not None else default_lm_dir(args.model)
    return load_lm_decoder(lm_dir, vocab, settings, lexicon_free=False)


def shipped_lm_dir(model) -> Path | None:
    """The model's own LM directory (a release's lm/, stages.release with release.lm), if it has one."""
    own = Path(model) / LM_IN_BUNDLE
    return own if word_lm(own).is_file() and (own / LEXICON).is_file() else None


def default_lm_dir(model) -> Path:
    """The model's own LM, else the `lm` stage's output beside the bundle (models/lm beside models/bundle)."""
    return shipped_lm_dir(model) or Path(model).parent / LM_BESIDE_BUNDLE


def default_decoding(args) -> str:
    """--decode as given, else lm for a model that ships its LM (a released model: it is measured so), else greedy."""
    if args.decode is not None:
        return args.decode
    return "lm" if shipped_lm_dir(args.model) is not None else "greedy"


def text_lm_decoder(path: Path, vocab: Vocabulary, settings: LexiconBeamSettings) -> LexiconBeamDecoder:
    """A word 3-gram and lexicon estimated from a text file, loaded, then their files removed."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"--lm-text {path}: cannot read ({exc})") from None

    def skipped(index, reason):
        print(f"asr: {path}: line {index + 1} skipped: {reason}", file=sys.stderr)

    sentences = lm_sentences(normalise_each(lines, skipped), [], [])
    with tempfile.TemporaryDirectory(prefix="asr-lm-") as tmp:
        estimate_arpa(sentences, Path(tmp) / "words.arpa", TEXT_LM_ORDER)
        words = sorted({w for s in sentences for w in s.split()})
        write_lexicon(words, Path(tmp) / "lexicon.txt", None if vocab.unit == "phone" else vocab.characters,
                      lexicon_spellings(words, vocab))
        return LexiconBeamDecoder(vocab, Path(tmp) / "words.arpa", Path(tmp) / "lexicon.txt", settings)
