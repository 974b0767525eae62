"""Benchmarks: scale runs that are too long for the test suite (see BENCHMARKS.md)."""
