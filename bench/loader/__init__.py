"""Benchmark of the warehouse loader: run `python -m bench.loader`."""
