"""Scoring a bundle on the test and dev splits: per-utterance predictions, metrics.json, plots for `dvc plots`.

May import asr.bundle and everything below it; never asr.app.
"""
