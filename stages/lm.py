"""Stage `lm`: training transcripts (+ extra text) -> word n-gram ARPA, character n-gram ARPA, lexicon.

Dev and test sentences never reach the LM: they are removed from every source (tests/test_lm_stage.py).
"""

from pathlib import Path

from asr.atomic import atomic_dir, write_json
from asr.csvio import read_text_table
from asr.errors import UserError
from asr.lm.corpus_text import lm_sentences
from asr.lm.lexicon import character_sentence, write_lexicon
from asr.lm.ngram import estimate_arpa
from asr.text.normalise import normalise_each
from asr.corpus.pronounce import lexicon_spellings
from asr.text.vocab import Vocabulary
from stages.entry import rebase_paths, stage_main, sweep_job_dir


def extra_text(cfg) -> list[str]:
    """Normalised sentences of lm.wordnet (WordNet's examples) and lm.text (a file, one sentence a line)."""
    raw, skipped = [], []
    if cfg.lm.wordnet:
        from asr.corpus.text_source import wordnet_sentences

        raw += wordnet_sentences(1, 1000)
    if cfg.lm.text:
        path = Path(cfg.lm.text)
        try:
            raw += path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"lm.text {path}: cannot read ({exc})") from None
    sentences = normalise_each(raw, lambda index, reason: skipped.append(reason))
    for reason in skipped:
        print(f"lm: skipped a line of extra text: {reason}")
    return sentences


def held_out_text(cfg) -> list[str]:
    """The dev and test sentences of lm.held_out_labels: another corpus's splits that this LM's model is scored on."""
    sentences = []
    for labels in cfg.lm.get("held_out_labels") or []:
        for split in ("dev", "test"):
            path = Path(labels) / f"{split}.csv"
            if not path.is_file():
                raise UserError(f"lm.held_out_labels: {path} is missing (run that corpus's labels stage first)")
            sentences += read_text_table(path)["text"].tolist()
    return sentences


def run(cfg) -> None:
    job_dir = sweep_job_dir()
    if job_dir is not None:  # a Hydra multirun job writes into its own directory, not the workspace
        cfg = rebase_paths(cfg, ("lm",), job_dir)
    if cfg.lm.order < 1 or cfg.lm.char_order < 1:
        raise UserError(f"lm.order and lm.char_order must be >= 1, got {cfg.lm.order} / {cfg.lm.char_order}")
    labels = Path(cfg.paths.labels)
    texts = {split: read_text_table(labels / f"{split}.csv")["text"].tolist()
             for split in ("train", "dev", "test")}
    sentences = lm_sentences(texts["train"], extra_text(cfg), texts["dev"] + texts["test"] + held_out_text(cfg))
    out_dir = Path(cfg.paths.lm)
    with atomic_dir(out_dir) as tmp:
        (tmp / "text.txt").write_text("".join(f"{s}\n" for s in sentences), encoding="utf-8")
        words = estimate_arpa(sentences, tmp / "words.arpa", cfg.lm.order)
        estimate_arpa([character_sentence(s) for s in sentences], tmp / "chars.arpa", cfg.lm.char_order)
        vocabulary = sorted({w for s in sentences for w in s.split()})
        # Spelled in the acoustic model's unit (labels.unit): letters, or phones (labels/vocab.json says which).
        label_vocab = Vocabulary.load(labels / "vocab.json")
        spelled = write_lexicon(vocabulary, tmp / "lexicon.txt", spellings=lexicon_spellings(vocabulary, label_vocab))
        write_json(tmp / "report.json", dict(sentences=len(sentences), words=len(vocabulary), order=words.order,
                                             train_sentences=len(texts["train"]), unit=label_vocab.unit,
                                             lexicon_words=spelled))
    print(f"lm: {len(sentences)} sentences ({len(texts['train'])} from train), {len(vocabulary)} words "
          f"({spelled} in the {label_vocab.unit} lexicon), word {words.order}-gram + character {cfg.lm.char_order}-gram "
          f"-> {out_dir}")


if __name__ == "__main__":
    stage_main(run)
