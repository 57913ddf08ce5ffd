"""Errors the command line turns into exit codes."""


class ConfigError(ValueError):
    """A setting has a value we cannot use; the message names the environment variable (exit code 2)."""
