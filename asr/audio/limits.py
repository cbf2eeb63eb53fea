"""What audio the project accepts: constants only, so the `asr` command's argument parser can use them cheaply."""

# A header outside this range is a lie or a mistake; beyond it a resampling filter would not fit in memory.
MIN_SAMPLE_RATE = 1000  # Hz
MAX_SAMPLE_RATE = 768_000  # Hz, the fastest audio converters sold
# Polyphase resampling by up/down builds a filter of about 20 x max(up, down) taps: odd rates are
# approximated by a ratio whose terms stay below this (every common rate pair is exact: 44100 -> 16000 is 160/441).
MAX_RESAMPLING_FACTOR = 1000
# Samples (frames x channels) read from a file at a time: 1 MiB of float32, whatever the channel count.
BLOCK_SAMPLES = 1 << 18
