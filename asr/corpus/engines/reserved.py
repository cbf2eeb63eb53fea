"""Voices kept for outside evaluation of the project: never a corpus voice, in any split.

Festival kal (kal_diphone) and slt (cmu_us_slt*), Flite kal, kal16 and slt. (The recordings in
pocketsphinx's test data are the other reserved audio; no engine can produce them.)
"""

RESERVED_SPEAKERS = ("kal_diphone", "kal", "kal16", "slt")
RESERVED_PREFIXES = ("cmu_us_slt",)


def is_reserved(name: str) -> bool:
    """True for a voice or speaker name reserved for outside evaluation (the whole name or a dash/space part)."""
    parts = {name.lower(), *name.lower().replace("-", " ").replace("_", " ").split(), *name.lower().split("-")}
    return any(p in RESERVED_SPEAKERS or p.startswith(RESERVED_PREFIXES) for p in parts)
