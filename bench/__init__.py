"""Benchmarks (not tests): speed measured as ratios against a baseline run on the same machine, same run."""
