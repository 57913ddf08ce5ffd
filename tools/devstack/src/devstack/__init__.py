"""A local stack of real servers for stockfeed's tests, benchmarks and demo."""
