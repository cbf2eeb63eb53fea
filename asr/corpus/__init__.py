"""Corpora to manifests: readers (LibriSpeech, LJSpeech, Common Voice, a manifest), splits, sentences, synthesis.

One module per synthesis engine lives in asr.corpus.engines. May import asr.audio, asr.text and the shared leaves.
"""
