"""The store's errors, raised where a caller can say what to do: the app, the CLI and notebooks catch them.

A write on a read-only store, a database file another process holds, and a read-only store whose derived tables
another version built (it cannot rebuild them).
"""

from __future__ import annotations


class ReadOnlyStoreError(RuntimeError):
    """A write was attempted on a store opened read-only."""


class StoreLockedError(RuntimeError):
    """Another process holds the database file (DuckDB allows one writing process per file)."""


class StoreOutdatedError(RuntimeError):
    """A read-only store whose derived tables were built by other derived SQL (another version)."""
