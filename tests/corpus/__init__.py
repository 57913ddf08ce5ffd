"""The bad-input corpus of issue 19 (see entries.py for its layout)."""
