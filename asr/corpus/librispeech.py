"""LibriSpeech reader: <root>/[<subset>/]<speaker>/<chapter>/*.flac + <speaker>-<chapter>.trans.txt."""

from pathlib import Path

from asr.corpus.common import SPLITS, CorpusScan, Rejection, SourceUtterance, source_problem
from asr.errors import UserError


def _split_of(subset: str) -> str | None:
    """train-clean-100 -> train, dev-other -> dev; None if the name carries no split."""
    return next((split for split in SPLITS if subset.startswith(split)), None)


def _read_transcripts(chapter_dir: Path) -> dict[str, str]:
    """{utterance id: text} from every *.trans.txt in a chapter folder (lines `ID TEXT`)."""
    texts = {}
    for trans in sorted(chapter_dir.glob("*.trans.txt")):
        for line in trans.read_text(encoding="utf-8").splitlines():
            utt_id, _, text = line.strip().partition(" ")
            if utt_id:
                texts[utt_id] = text.strip()
    return texts


def _scan_chapter(chapter_dir: Path, root: Path, split: str | None, scan: CorpusScan) -> None:
    texts = _read_transcripts(chapter_dir)
    audio = {path.name.removesuffix(".flac"): path for path in chapter_dir.glob("*.flac")}
    speaker = chapter_dir.parent.name
    for utt_id in sorted(texts.keys() | audio.keys()):
        source = audio.get(utt_id, chapter_dir / f"{utt_id}.flac")
        reason = source_problem(source, root, texts.get(utt_id, ""))
        if reason:
            scan.rejected.append(Rejection(utt_id, str(source), reason))
        else:
            scan.utterances.append(SourceUtterance(utt_id, source, texts[utt_id], speaker, split))


def read_librispeech(root: Path) -> CorpusScan:
    """Find LibriSpeech utterances; subset folders named train*/dev*/test* give the split."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"LibriSpeech root not found: {root}")
    subsets = sorted(p for p in root.iterdir() if p.is_dir() and _split_of(p.name))
    # (folder holding <speaker>/<chapter>, split): the subsets if any, else the root itself
    tops = [(subset, _split_of(subset.name)) for subset in subsets] or [(root, None)]
    scan = CorpusScan([], [])
    for top, split in tops:
        for chapter_dir in sorted(p for p in top.glob("*/*") if p.is_dir()):
            _scan_chapter(chapter_dir, root, split, scan)
    if not scan.utterances and not scan.rejected:
        raise UserError(f"no LibriSpeech *.flac or *.trans.txt files under {root}")
    return scan
