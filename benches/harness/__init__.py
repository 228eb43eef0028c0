"""Pieces of the benchmark harness behind `benches/run.py` (data, tools, measuring, report)."""
