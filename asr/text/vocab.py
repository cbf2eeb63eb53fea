"""Output vocabulary (characters, or phones written one character each) with an explicit CTC blank,
saved as a versioned vocab.json.

Convention (stated once, tested): the blank is index 0, as in keras.ops.ctc_loss/ctc_decode
(mask_index=0) and most toolkits; characters are 1..N in the configured order. The old
Keras/TF recipe put the blank last; keras.ops handles that difference for us.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from asr.atomic import write_json
from asr.errors import UserError

VOCAB_VERSION = 1
BLANK_INDEX = 0
BLANK_TOKEN = "<blank>"
UNITS = ("char", "phone")  # labels.unit: what the symbols are (phone: asr.text.phones' codes)
# What a phone model's words (its lexicon's, its references') are written in: labels.characters' default.
WORD_CHARACTERS = " abcdefghijklmnopqrstuvwxyz'"


@dataclass(frozen=True)
class Vocabulary:
    characters: str  # the non-blank symbols, in index order 1..N
    unit: str = "char"

    @property
    def size(self) -> int:
        """Number of output classes, blank included."""
        return len(self.characters) + 1

    @property
    def blank_index(self) -> int:
        return BLANK_INDEX

    @property
    def text_characters(self) -> str:
        """The characters of the text this model's output is scored as: its own symbols, or a phone model's words'."""
        return WORD_CHARACTERS if self.unit == "phone" else self.characters

    def encode(self, text: str) -> list[int]:
        """Text (already normalised, in-vocabulary) -> label ids in 1..N."""
        index = {ch: i + 1 for i, ch in enumerate(self.characters)}
        try:
            return [index[ch] for ch in text]
        except KeyError as exc:
            raise UserError(f"character {exc.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids) -> str:
        """Label ids -> text; blanks (and out-of-range ids such as -1 padding) are skipped."""
        return "".join(self.characters[i - 1] for i in ids if 1 <= i <= len(self.characters))

    def to_json(self) -> dict:
        data = {
            "version": VOCAB_VERSION,
            "blank_index": BLANK_INDEX,
            "tokens": [BLANK_TOKEN, *self.characters],
        }
        if self.unit == "phone":  # older readers see an unknown key; a char vocab.json is unchanged
            from asr.text.phones import ARPABET

            data.update(unit="phone", arpabet=[BLANK_TOKEN, *(ARPABET.get(ch, "|") for ch in self.characters)])
        return data

    def save(self, path) -> None:
        write_json(path, self.to_json())

    @classmethod
    def phones(cls) -> "Vocabulary":
        """The phone vocabulary of labels.unit=phone: ' ' (the word boundary), then the 39 phones."""
        from asr.text.phones import PHONE_CHARACTERS

        return cls(PHONE_CHARACTERS, "phone")

    @classmethod
    def from_characters(cls, characters: str) -> "Vocabulary":
        if not characters:
            raise UserError("labels.characters must not be empty")
        duplicates = sorted({ch for ch in characters if characters.count(ch) > 1})
        if duplicates:
            raise UserError(f"labels.characters has duplicates: {duplicates}")
        return cls(characters)

    @classmethod
    def load(cls, path) -> "Vocabulary":
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(f"{path}: cannot read vocabulary ({exc})") from None
        if data.get("version") != VOCAB_VERSION:
            raise UserError(f"{path}: unsupported vocabulary version {data.get('version')!r}")
        tokens = data.get("tokens")
        if data.get("blank_index") != BLANK_INDEX or not tokens or tokens[BLANK_INDEX] != BLANK_TOKEN:
            raise UserError(f"{path}: blank must be token {BLANK_INDEX} ({BLANK_TOKEN!r})")
        if any(len(t) != 1 for t in tokens[1:]):
            raise UserError(f"{path}: every non-blank token must be one character")
        unit = data.get("unit", "char")
        if unit not in UNITS:
            raise UserError(f"{path}: unit must be one of {', '.join(UNITS)}, got {unit!r}")
        return cls(cls.from_characters("".join(tokens[1:])).characters, unit)
