"""The released base model: its provenance, its learning curve and its sample files (stages/release.py)."""
