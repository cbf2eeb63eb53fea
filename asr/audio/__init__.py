"""Audio in and out: reading any format to mono float32, resampling, WAV writing, cutting long audio at pauses.

May import only the shared leaves (asr.errors, asr.atomic).
"""
