"""Fuzz properties of the contract check, the loader's parser and the consumer's validator (issue 19)."""
