"""From per-step log-probabilities to text: CTC greedy and beam decoding, forced alignment for word timings.

May import asr.text and the shared leaves.
"""
