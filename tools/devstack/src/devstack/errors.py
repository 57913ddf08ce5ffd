"""The one error type the CLI turns into a clear message and a non-zero exit."""


class StackError(RuntimeError):
    """Something the user can act on: a missing tool, a busy port, a server that did not become healthy."""
