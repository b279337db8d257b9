"""Opening the workbench database: the one way the app, the CLI and notebooks open it.

:func:`open_workbench` opens the store (``engagement.warehouse.store``) with the derived build
(``engagement.derived``) attached, so that every load and undo rebuilds the derived tables in its transaction,
evaluates the alert rules after every commit (``engagement.leadership.alerts``), and rebuilds them once when another version built them (opened for writing; a read-only store cannot, and says
so through ``Store.require_current_derived``).

Example
-------
>>> store = open_workbench(":memory:")
>>> store.derived_are_current(), store.is_empty()
(True, True)
"""

from __future__ import annotations

from pathlib import Path

from engagement.derived import DERIVED_BUILD
from engagement.leadership import alerts
from engagement.warehouse.store import Store


def open_workbench(path: str | Path | None = None, read_only: bool | None = None,
                   readable: tuple[str | Path, ...] = ()) -> Store:
    """Open (and if needed create) the workbench database at ``path`` (default: ``config.db_path()``; read-only
    by default when ``ENGAGEMENT_READ_ONLY`` says so) and refresh derived tables another version built.
    ``readable``: files outside ``data/`` this process may read (``Store.open``'s sandbox)."""
    store = Store.open(path, read_only=read_only, readable=readable, derived=DERIVED_BUILD)
    if not store.read_only:
        # Alert rules are evaluated after every committed load or undo, before a snapshot publisher (added later
        # by the app or the CLI) copies the database, so snapshots carry the evaluation too; in the app, in the
        # background (the evaluation publishes again when it logged something: leadership/alerts.py).
        store.after_commit.append(alerts.after_load)
    if not store.read_only and not store.derived_are_current():
        store.refresh_derived()
    return store


def open_warehouse(mapping, master: str | None = None, engine=None):
    """Warehouse mode: the views on Spark over the tables ``mapping`` names (a
    ``engagement.warehouse.lake.TableMapping``), the derived tables built there with the same SQL.

    ``engine``: a running ``SparkEngine`` (one session per process); default a new one on ``master``
    (``ENGAGEMENT_SPARK_MASTER``, default ``local[*]``).
    """
    from engagement.warehouse.engine import SparkEngine
    from engagement.warehouse.spark_store import SparkStore

    # One store per mapping per process: building the derived tables is the expensive part, and several
    # commands (or tests, or the app's sessions) in one process read the same tables. Keyed by the mapping only: a
    # process has one SparkContext, which getOrCreate returns whatever master is asked for.
    key = repr(sorted(mapping.sources.items()))
    store = _warehouses.get(key)
    if store is None or (engine is not None and store.engine is not engine):
        store = SparkStore.open(engine or SparkEngine.start(master), mapping, derived=DERIVED_BUILD)
        _warehouses[key] = store
    return store


_warehouses: dict = {}
