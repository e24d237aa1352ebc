"""Benchmark scripts: one question each, run as ``python -m benchmarks.NAME``."""
