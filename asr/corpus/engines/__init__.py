"""Speech synthesis engines for the embedded corpus, one module each.

May import asr.audio and the shared leaves; never the rest of asr.corpus.
"""
