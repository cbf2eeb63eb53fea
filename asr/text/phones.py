"""The phone set of `labels.unit: phone`: CMUdict's 39 ARPAbet phones, stress removed, one character each.

Every part of the pipeline that handles labels (vocab.json, the labels CSVs, CTC decoding, the lexicon
beam search) works on strings of one-character tokens, so each phone is written as one character: its
IPA symbol where that is a single character, a capital for the diphthongs. ' ' stays the word boundary,
so "hello world" (HH AH L OW, W ER L D) is written "hʌlo wɝld".
"""

# ARPAbet -> its one-character code. IPA where it has one symbol; the five diphthongs as capitals.
PHONE_CODES = {
    "AA": "ɑ", "AE": "æ", "AH": "ʌ", "AO": "ɔ", "AW": "W", "AY": "Y", "B": "b", "CH": "ʧ", "D": "d",
    "DH": "ð", "EH": "ɛ", "ER": "ɝ", "EY": "e", "F": "f", "G": "ɡ", "HH": "h", "IH": "ɪ", "IY": "i",
    "JH": "ʤ", "K": "k", "L": "l", "M": "m", "N": "n", "NG": "ŋ", "OW": "o", "OY": "O", "P": "p",
    "R": "ɹ", "S": "s", "SH": "ʃ", "T": "t", "TH": "θ", "UH": "ʊ", "UW": "u", "V": "v", "W": "w",
    "Y": "j", "Z": "z", "ZH": "ʒ",
}  # fmt: skip
ARPABET = {code: phone for phone, code in PHONE_CODES.items()}
# The vocabulary's symbols in index order 1..N: the word boundary, then the phones.
PHONE_CHARACTERS = " " + "".join(PHONE_CODES.values())


def encode_phones(phones: list[str]) -> str:
    """['HH', 'AH0', 'L', 'OW1'] -> 'hʌlo': stress digits dropped, one character per phone."""
    return "".join(PHONE_CODES[phone.rstrip("012")] for phone in phones)


def to_arpabet(codes: str) -> str:
    """'hʌlo wɝld' -> 'HH AH L OW | W ER L D': phone codes as people read them ('|' between words)."""
    return " | ".join(" ".join(ARPABET[code] for code in word) for word in codes.split())
