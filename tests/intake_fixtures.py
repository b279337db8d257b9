"""Shared helpers for the intake tests: a small file-backed store and a whole-database snapshot."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from engagement.warehouse.schema import KINDS
from engagement.warehouse.loading import replaced_table
from engagement.warehouse.store import Store
from engagement.workbench import open_workbench

from conftest import hand_fixture_frames

ORDERS_HEADER = "order_id,customer_id,ordered_at,net_revenue,discount,currency,channel,status"


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def snapshot(store: Store) -> dict[str, list[tuple]]:
    """Every row of every table a load or an undo may touch, sorted, for before/after equality."""
    cur = store.cursor()
    tables = list(KINDS) + [replaced_table(k) for k in KINDS] + ["loads", "quarantine"]
    has_mappings = cur.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'column_mappings'"
    ).fetchall()[0][0]
    if has_mappings:
        tables.append("column_mappings")
    return {t: sorted(map(repr, cur.execute(f'SELECT * FROM "{t}"').fetchall())) for t in tables}


@pytest.fixture()
def intake_store(tmp_path, monkeypatch) -> Store:
    """Customers A-D, six orders and six NPS answers (tests/conftest.py), in a database file.

    Validation runs on the SQL evaluator here (GX costs seconds per file on a busy 2-core machine);
    tests/test_validation.py proves GX and the SQL evaluator agree on every expectation type.
    """
    monkeypatch.setenv("ENGAGEMENT_VALIDATION_ENGINE", "duckdb")
    store = open_workbench(tmp_path / "db" / "engagement.duckdb", read_only=False)
    for kind, frame in hand_fixture_frames().items():
        store.load_frame(kind, frame)
    yield store
    store.close()


def table(store: Store, sql: str) -> pd.DataFrame:
    return store.cursor().execute(sql).df()


def recording(monkeypatch) -> list[str]:
    """Every statement run on a cursor the store hands out, as text with its whitespace collapsed."""
    seen: list[str] = []
    real = Store.cursor

    class Recording:
        def __init__(self, cursor):
            self._cursor = cursor

        def execute(self, sql, *args, **kwargs):
            seen.append(" ".join(str(sql).split()))
            return self._cursor.execute(sql, *args, **kwargs)

        def __getattr__(self, name):
            return getattr(self._cursor, name)

    monkeypatch.setattr(Store, "cursor", lambda self: (lambda c: c if isinstance(c, Recording) else Recording(c))(
        real(self)))
    return seen
