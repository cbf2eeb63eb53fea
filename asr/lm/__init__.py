"""Language models for decoding: n-gram estimation to ARPA files, and the lexicon (word -> spelling).

May import only the shared leaves. Used by asr.decoding.lexicon_beam.
"""
