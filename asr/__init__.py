"""Character-level speech recognition: MFCC features, BiGRU/LSTM + CTC, CER/WER.

Subpackages follow the data path, each importing only those below it (checked by tests/test_layers.py):
app -> evaluation -> bundle -> model -> decoding -> corpus | features -> audio | text -> errors | atomic | metrics.
"""
