"""Text: normalisation of transcripts, the character vocabulary (blank = 0), label encoding.

May import only the shared leaves.
"""
