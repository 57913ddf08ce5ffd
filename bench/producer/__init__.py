"""Benchmark of the producer: `python -m bench.producer`."""
