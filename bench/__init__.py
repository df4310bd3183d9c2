"""Benchmarks run on purpose (not in CI): `python -m bench.run` (see bench/README.md)."""
