"""The `asr` command: argument parsing, transcription of files and streams, evaluation of a manifest.

The top layer: may import any other part of asr.
"""
