"""Benchmark of the contract check (fast path against the full check): `python -m bench.contracts`."""
