"""The three ways a run can fail, each with its own exit code (see cli.py and the README)."""

from __future__ import annotations


class ConfigError(ValueError):
    """A setting is missing or unusable; the message names the LOADER_* variable (exit code 2)."""


class SourceError(RuntimeError):
    """Listing or reading the bucket failed (exit code 3); nothing of the current batch was committed."""


class WarehouseError(RuntimeError):
    """The warehouse refused a statement or a load check failed (exit code 3); the batch was rolled back."""
