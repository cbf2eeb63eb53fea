"""Speech synthesis engines for the embedded corpus, one module each, named in `data.engines`.

Each engine class has voices() -> names, speak(text, voice, rng) -> (samples, rate, what was drawn)
and close(). May import asr.audio and the shared leaves; never the rest of asr.corpus.
"""

import importlib

from asr.errors import UserError

# Engine name (as in data.engines) -> "module:class"; a new engine is one module and one line here.
ENGINES = {
    "espeak": "asr.corpus.engines.espeak:EspeakEngine",
    "piper": "asr.corpus.engines.piper:PiperEngine",
    "hibari": "asr.corpus.engines.hibari:HibariEngine",
    "flite": "asr.corpus.engines.flite:FliteEngine",
    "festival": "asr.corpus.engines.festival:FestivalEngine",
    "kokoro": "asr.corpus.engines.kokoro:KokoroEngine",
}


def open_engine(name: str, options: dict):
    """An engine ready to speak, configured by its `data.<name>` options."""
    if name not in ENGINES:
        raise UserError(f"data.engines: unknown engine {name!r}; known: {', '.join(ENGINES)}")
    module, cls = ENGINES[name].split(":")
    try:
        return getattr(importlib.import_module(module), cls)(**options)
    except TypeError as exc:
        raise UserError(f"data.{name}: {exc}") from None
