"""Character-level speech recognition: MFCC features, BiGRU/LSTM + CTC, CER/WER."""
