"""Acoustic features: MFCC + deltas, per-coefficient normalisation, parallel extraction, feature shards.

May import asr.audio and the shared leaves.
"""
