"""Benchmarks: scripts that print speed and memory figures (not part of the test suite).

Run them as modules from the project folder (``python -m benchmarks.pages_benchmark --db PATH``), so that they
import the package and each other as ``engagement`` and ``benchmarks``; figures are in ``benchmarks/README.md``.
"""
