"""CTC beam search with an n-gram LM (KenLM) through flashlight-text's decoders; blank = index 0.

Two modes, chosen by whether a lexicon is given:
- lexicon (flashlight LexiconDecoder): every output word is a lexicon word (asr.lm.lexicon) and the
  LM is a word-level ARPA (asr.lm.ngram). A spelling ends with the word separator, our ' ' class,
  so a word is complete only once a ' ' follows it; one extra step in which ' ' is certain is
  appended to the log-probs so that the last word completes too.
- lexicon-free (flashlight LexiconFreeDecoder): any character string. Its LM scores every emitted
  character, so `lm_path` must be a character-level ARPA, estimated from
  asr.lm.lexicon.character_sentence(...) sentences ('|' for ' '), or None for no LM.
  flashlight's lexicon-free search has no word score; `word_score` is ignored there.

Scores: a hypothesis scores sum(log-probs, natural log) + lm_weight * (KenLM log10 score)
+ word_score per word (+ sil_score per ' ' step), so lm_weight and word_score must be tuned together
on held-out data. beam_threshold drops hypotheses scoring more than that below the best one.
"""

import math
import os
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import groupby

import numpy as np
from flashlight.lib.text.decoder import (
    CriterionType,
    LexiconDecoder,
    LexiconDecoderOptions,
    LexiconFreeDecoder,
    LexiconFreeDecoderOptions,
    SmearingMode,
    Trie,
    ZeroLM,
)
from flashlight.lib.text.decoder.kenlm import KenLM
from flashlight.lib.text.dictionary import Dictionary

from asr.errors import UserError
from asr.lm.lexicon import WORD_SEPARATOR, read_lexicon
from asr.text.vocab import BLANK_INDEX, BLANK_TOKEN, Vocabulary

UNK_WORD = "<unk>"
IMPOSSIBLE = -1e9  # log-prob of the classes other than ' ' in the appended final step


@dataclass(frozen=True)
class LexiconBeamSettings:
    beam: int = 400  # hypotheses kept per step
    lm_weight: float = 2.0
    word_score: float = 0.0  # added per word (lexicon mode); > 0 favours more, shorter words
    beam_threshold: float = 10.0
    sil_score: float = 0.0  # added per ' ' step
    unk_score: float = -math.inf  # -inf: words outside the lexicon are never output

    def __post_init__(self):
        if self.beam < 1:
            raise UserError(f"decode.beam must be >= 1, got {self.beam}")
        if self.beam_threshold <= 0:
            raise UserError(f"decode.beam_threshold must be > 0, got {self.beam_threshold}")


class LexiconBeamDecoder:
    """Loads the LM (and lexicon) once; decodes (steps, classes) log-probs into text."""

    def __init__(self, vocabulary: Vocabulary, lm_path=None, lexicon_path=None,
                 settings: LexiconBeamSettings = LexiconBeamSettings()):
        if " " not in vocabulary.characters:
            raise UserError("lexicon beam decoding needs ' ' (the word separator) in the vocabulary")
        self.vocabulary = vocabulary
        self.settings = settings
        self.separator = vocabulary.characters.index(" ") + 1
        # Token names as they appear in lexicon and LM files: '|' for ' ', blank as <blank>.
        self._token_names = [BLANK_TOKEN, *(WORD_SEPARATOR if ch == " " else ch for ch in vocabulary.characters)]
        self.lexicon_free = lexicon_path is None
        if self.lexicon_free:
            self._build_lexicon_free(lm_path)
        else:
            self._build_lexicon(lm_path, lexicon_path)

    def _load_lm(self, lm_path, dictionary: Dictionary):
        if lm_path is None:
            return ZeroLM()
        try:
            with _quiet_stderr():  # KenLM prints a progress bar and a hint on every load
                return KenLM(str(lm_path), dictionary)
        except Exception as exc:  # KenLM raises RuntimeError/OSError subclasses of its own
            raise UserError(f"{lm_path}: cannot load the ARPA language model ({exc})") from None

    def _build_lexicon_free(self, lm_path):
        self._lm = self._load_lm(lm_path, Dictionary(self._token_names))
        s = self.settings
        options = LexiconFreeDecoderOptions(
            beam_size=s.beam, beam_size_token=self.vocabulary.size, beam_threshold=s.beam_threshold,
            lm_weight=s.lm_weight, sil_score=s.sil_score, log_add=False, criterion_type=CriterionType.CTC,
        )
        self._decoder = LexiconFreeDecoder(options, self._lm, self.separator, BLANK_INDEX, [])

    def _build_lexicon(self, lm_path, lexicon_path):
        lexicon = read_lexicon(lexicon_path)
        if not lexicon:
            raise UserError(f"{lexicon_path}: the lexicon has no words")
        self._lexicon = lexicon
        self._words = Dictionary()
        for word in lexicon:
            self._words.add_entry(word)
        self._words.add_entry(UNK_WORD)
        unk = self._words.get_index(UNK_WORD)
        self._words.set_default_index(unk)
        self._lm = self._load_lm(lm_path, self._words)

        token_index = {name: i for i, name in enumerate(self._token_names) if i != BLANK_INDEX}
        self._trie = Trie(self.vocabulary.size, self.separator)
        start = self._lm.start(False)
        for word, spelling in lexicon.items():
            unknown = [t for t in spelling if t not in token_index]
            if unknown:
                raise UserError(f"{lexicon_path}: word {word!r} uses tokens {unknown} outside the vocabulary")
            word_index = self._words.get_index(word)
            _state, score = self._lm.score(start, word_index)
            self._trie.insert([token_index[t] for t in spelling], word_index, score)
        # Each trie node gets the best LM score below it, so partial words are scored early.
        self._trie.smear(SmearingMode.MAX)

        s = self.settings
        options = LexiconDecoderOptions(
            beam_size=s.beam, beam_size_token=self.vocabulary.size, beam_threshold=s.beam_threshold,
            lm_weight=s.lm_weight, word_score=s.word_score, unk_score=s.unk_score, sil_score=s.sil_score,
            log_add=False, criterion_type=CriterionType.CTC,
        )
        self._decoder = LexiconDecoder(options, self._trie, self._lm, self.separator, BLANK_INDEX, unk, [], False)

    def decode(self, log_probs: np.ndarray) -> str:
        """Best text for one utterance's (steps, classes) log-probs."""
        log_probs = np.asarray(log_probs, dtype=np.float32)
        if log_probs.ndim != 2 or log_probs.shape[1] != self.vocabulary.size:
            raise UserError(
                f"log-probs must be (steps, {self.vocabulary.size}) for this vocabulary, got {log_probs.shape}"
            )
        if not self.lexicon_free:
            final = np.full((1, self.vocabulary.size), IMPOSSIBLE, np.float32)
            final[0, self.separator] = 0.0
            log_probs = np.concatenate([log_probs, final])
        # flashlight reads T * N contiguous float32 from the raw pointer; keep the array alive meanwhile.
        emissions = np.ascontiguousarray(log_probs)
        steps, classes = emissions.shape
        results = self._decoder.decode(emissions.ctypes.data, steps, classes)
        if not results:
            return ""
        best = results[0]
        if self.lexicon_free:
            # One token per step (-1 before the first and after the last): apply the CTC collapse rule.
            # (Not asr.decoding.ctc.collapse_ctc_path: that module imports keras/TensorFlow.)
            tokens = [token for token, _run in groupby(best.tokens) if token not in (-1, BLANK_INDEX)]
            return " ".join(self.vocabulary.decode(tokens).split())
        return " ".join(self._words.get_entry(w) for w in best.words if w >= 0)

    def spelling(self, text: str) -> str:
        """`text` (this decoder's words) in the vocabulary's symbols, as the lexicon spells each word, ' ' between
        words: the label a word output aligns to (a phone model's phones)."""
        if self.lexicon_free:
            return text
        return " ".join("".join(t for t in self._lexicon[word] if t != WORD_SEPARATOR) for word in text.split())

    def decode_batch(self, log_probs: np.ndarray, lengths) -> list[str]:
        """Decode (batch, steps, classes) log-probs; steps past each true length are ignored."""
        return [self.decode(utterance[:length]) for utterance, length in zip(log_probs, lengths)]


@contextmanager
def _quiet_stderr():
    """Send file descriptor 2 to /dev/null meanwhile (C++ code writes there directly, not through sys.stderr)."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
