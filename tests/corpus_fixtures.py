"""Builders for tiny corpora in each real layout, with real audio (tones and noise bursts)."""

from pathlib import Path

import numpy as np
import soundfile as sf


def tone(rate: int, samples: int, freq: float = 440.0, amplitude: float = 0.5) -> np.ndarray:
    """A sine of `samples` samples at `rate` Hz; (samples,) float32."""
    return (amplitude * np.sin(2 * np.pi * freq * np.arange(samples) / rate)).astype(np.float32)


def noise_burst(samples: int, seed: int = 0, amplitude: float = 0.3) -> np.ndarray:
    """Uniform noise in [-amplitude, amplitude]; (samples,) float32."""
    return np.random.default_rng(seed).uniform(-amplitude, amplitude, samples).astype(np.float32)


def write_audio(path: Path, audio: np.ndarray, rate: int, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), audio, rate, **kwargs)
    return path


def make_librispeech(root: Path, subsets: bool = True) -> Path:
    """LibriSpeech FLAC at 16 kHz; with subsets: train-clean-100 (2 chapters), dev-clean, test-clean."""
    chapters = {  # (subset, speaker, chapter): {utterance number: text}
        ("train-clean-100", "19", "198"): {"0000": "NORTHANGER ABBEY", "0001": "CHAPTER ONE"},
        ("train-clean-100", "26", "495"): {"0000": "NO ONE WHO HAD EVER SEEN CATHERINE"},
        ("dev-clean", "84", "121123"): {"0000": "GO DO YOU HEAR"},
        ("test-clean", "61", "70968"): {"0000": "HE BEGAN A CONFUSED COMPLAINT"},
    }
    for seed, ((subset, speaker, chapter), utterances) in enumerate(chapters.items()):
        chapter_dir = root / (subset if subsets else "") / speaker / chapter
        lines = []
        for number, text in utterances.items():
            utt_id = f"{speaker}-{chapter}-{number}"
            write_audio(chapter_dir / f"{utt_id}.flac", noise_burst(4800, seed), 16000, format="FLAC")
            lines.append(f"{utt_id} {text}\n")
        (chapter_dir / f"{speaker}-{chapter}.trans.txt").write_text("".join(lines))
    (root / "SPEAKERS.TXT").write_text("; speaker list\n")
    return root


LJSPEECH_METADATA = (
    "LJ001-0001|Printing, in 1476, differs|Printing, in fourteen seventy-six, differs\n"
    'LJ001-0002|"Mr. Smith, he said|"Mister Smith, he said\n'  # opening quote, never closed
    "LJ001-0003|in being comparatively modern.\n"  # no normalised column
    "LJ001-0004|NA|\n"  # empty normalised column; "NA" is a word here, not a missing value
)


def make_ljspeech(root: Path) -> Path:
    """LJSpeech: metadata.csv (4 lines) + wavs/<id>.wav at 22050 Hz."""
    (root / "wavs").mkdir(parents=True)
    (root / "metadata.csv").write_text(LJSPEECH_METADATA, encoding="utf-8")
    for number in range(1, 5):
        write_audio(root / "wavs" / f"LJ001-000{number}.wav", tone(22050, 6615, 220.0 * number), 22050)
    return root


CV_HEADER = "client_id\tpath\tsentence\tup_votes\tdown_votes\tage\tgender\taccent\tlocale\tsegment\n"
CV_TABLES = {  # split: [(client_id, clip, sentence)]
    "train": [("aaa1", "common_voice_en_1.mp3", "Hello world."),
              ("aaa1", "common_voice_en_2.mp3", '"Hi," she said.'),
              ("bbb2", "common_voice_en_3.mp3", "None")],
    "dev": [("ccc3", "common_voice_en_4.mp3", "A dev sentence.")],
    "test": [("ddd4", "common_voice_en_5.mp3", "A test sentence.")],
}


def make_commonvoice(root: Path, audio_format: str = "MP3") -> Path:
    """Common Voice: clips/*.mp3 at 48 kHz (14400 samples = 0.3 s) + train/dev/test.tsv."""
    for split, rows in CV_TABLES.items():
        lines = [CV_HEADER]
        for number, (client, clip, sentence) in enumerate(rows):
            write_audio(root / "clips" / clip, tone(48000, 14400, 300.0 + 100 * number), 48000, format=audio_format)
            lines.append(f"{client}\t{clip}\t{sentence}\t2\t0\t\t\t\ten\t\n")
        (root / f"{split}.tsv").write_text("".join(lines), encoding="utf-8")
    return root


def make_manifest_tsv(root: Path) -> Path:
    """manifest.tsv with all optional columns; WAV 8 kHz, FLAC 44.1 kHz, OGG 22.05 kHz."""
    write_audio(root / "audio" / "one.wav", tone(8000, 2000), 8000)  # 0.25 s
    write_audio(root / "audio" / "two.flac", tone(44100, 15435), 44100)  # 0.35 s
    write_audio(root / "audio" / "three.ogg", tone(22050, 6615), 22050)  # 0.3 s
    (root / "manifest.tsv").write_text(
        "id\tpath\ttext\tspeaker\tsplit\n"
        "u1\taudio/one.wav\t\"first\" quoted\tspk_a\ttrain\n"
        "u2\taudio/two.flac\tsecond\tspk_b\tdev\n"
        "\taudio/three.ogg\tthird\t\t\n"
    )
    return root / "manifest.tsv"


def make_manifest_csv(root: Path) -> Path:
    """manifest.csv with only path and text; two files share the stem `clip`."""
    write_audio(root / "a" / "clip.wav", tone(16000, 4800), 16000)
    write_audio(root / "b" / "clip.wav", noise_burst(4800), 16000)
    (root / "manifest.csv").write_text('path,text\na/clip.wav,"hello, world"\nb/clip.wav,second\n')
    return root / "manifest.csv"
