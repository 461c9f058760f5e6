"""Benchmarks: each compares a service with a baseline measured in the same run."""
