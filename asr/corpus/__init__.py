"""Corpus readers (LibriSpeech, LJSpeech, Common Voice, manifest) and the synthetic corpus."""
