"""One entry point for every real-corpus reader, chosen by `data.corpus`."""

from pathlib import Path

from asr.corpus.common import CorpusScan
from asr.corpus.commonvoice import read_commonvoice
from asr.corpus.librispeech import read_librispeech
from asr.corpus.ljspeech import read_ljspeech
from asr.corpus.manifest import read_manifest_corpus
from asr.errors import UserError

READERS = {
    "librispeech": read_librispeech,
    "ljspeech": read_ljspeech,
    "commonvoice": read_commonvoice,
    "manifest": read_manifest_corpus,  # root is the manifest file itself
}


def read_corpus(kind: str, root) -> CorpusScan:
    """Scan a corpus of the given kind under `root` (a folder, or the manifest file)."""
    if kind not in READERS:
        raise UserError(f"data.corpus must be one of {', '.join(READERS)}, got '{kind}'")
    return READERS[kind](Path(root))
