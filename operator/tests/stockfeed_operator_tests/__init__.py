"""Unit tests of the operator's pure parts.

The package has a name of its own (not `tests`) because pytest, in importlib mode, would otherwise import
`operator/tests/...` as `operator.tests...` and shadow the standard library's `operator` module.
"""
