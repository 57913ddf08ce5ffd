"""Benchmark of the bronze writer: `python -m bench.consumer`."""
