"""SQL notebooks: ordered cells of DuckDB SQL, run through the safety layer, saved by name with versions.

A :class:`Notebook` is an immutable value: editing functions return a new one, so the page can keep
it in the session and a saved version never changes. Saved notebooks live in the workbench database
(``saved_notebooks``: one row per version), so a link ``?notebook=<name>&notebook_version=<n>``
reopens exactly what was shared.

Example
-------
>>> nb = add_cell(Notebook(name="scratch"), "SELECT 1 AS one")
>>> nb = add_cell(nb, "SELECT 2 AS two")
>>> [c.sql for c in move_cell(nb, 1, -1).cells]
['SELECT 2 AS two', 'SELECT 1 AS one']
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

import duckdb
import pandas as pd

from engagement.warehouse.access import Actor
from engagement.notebook.chart_spec import QuickChartSpec
from engagement.sql import read_sql
from engagement.notebook.sql_safety import (
    DEFAULT_MAX_ROWS, DEFAULT_TIMEOUT_SECONDS, QueryCancelled, QueryFailed, QueryRefused, QueryResult, run_query,
)
from engagement.warehouse import audit
from engagement.warehouse.errors import ReadOnlyStoreError
from engagement.warehouse.store import Store

MAX_NAME_LENGTH = 80
NOTEBOOK_PARAM = "notebook"
VERSION_PARAM = "notebook_version"

STARTER_SQL = (
    "-- Repeat customers by acquisition channel\n"
    "SELECT acquisition_channel,\n"
    "       count(*) AS customers,\n"
    "       avg((order_count >= 2)::int) AS repeat_share\n"
    "FROM customer_summary\n"
    "WHERE order_count > 0\n"
    "GROUP BY ALL\n"
    "ORDER BY customers DESC"
)


def _new_cell_id() -> str:
    return uuid.uuid4().hex[:10]


@dataclass(frozen=True)
class Cell:
    """One SQL cell; ``chart`` is its quick chart, if the analyst built one."""

    sql: str
    cell_id: str = field(default_factory=_new_cell_id)
    chart: QuickChartSpec | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"sql": self.sql, "chart": self.chart.as_dict() if self.chart else None}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "Cell":
        chart = raw.get("chart")
        return cls(sql=str(raw.get("sql", "")), chart=QuickChartSpec.from_dict(chart) if chart else None)


@dataclass(frozen=True)
class Notebook:
    """A named, ordered list of cells; ``version`` is set once it has been saved or loaded."""

    name: str = ""
    cells: tuple[Cell, ...] = ()
    description: str = ""
    version: int | None = None
    saved_at: datetime | None = None

    def cells_json(self) -> str:
        return json.dumps([c.as_dict() for c in self.cells])


# ------------------------------------------------------------------ editing
def add_cell(notebook: Notebook, sql: str = "", at: int | None = None) -> Notebook:
    """A copy with a new cell at position ``at`` (default: the end)."""
    cells = list(notebook.cells)
    cells.insert(len(cells) if at is None else max(0, min(at, len(cells))), Cell(sql=sql))
    return replace(notebook, cells=tuple(cells))


def update_cell(notebook: Notebook, index: int, **changes: Any) -> Notebook:
    """A copy with cell ``index`` changed (``sql=...``, ``chart=...``)."""
    cells = list(notebook.cells)
    cells[index] = replace(cells[index], **changes)
    return replace(notebook, cells=tuple(cells))


def move_cell(notebook: Notebook, index: int, offset: int) -> Notebook:
    """A copy with cell ``index`` moved by ``offset`` places (-1: up), clamped to the ends."""
    cells = list(notebook.cells)
    target = max(0, min(index + offset, len(cells) - 1))
    cells.insert(target, cells.pop(index))
    return replace(notebook, cells=tuple(cells))


def delete_cell(notebook: Notebook, index: int) -> Notebook:
    """A copy without cell ``index``."""
    cells = list(notebook.cells)
    del cells[index]
    return replace(notebook, cells=tuple(cells))


# ------------------------------------------------------------------ running
@dataclass(frozen=True)
class CellRun:
    """What running one cell gave: rows, or why there are none (``status``: ok, refused, cancelled, failed)."""

    status: str
    result: QueryResult | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def run_cell(store: Store, sql: str, *, max_rows: int = DEFAULT_MAX_ROWS,
             timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> CellRun:
    """Run one cell's SQL through the safety layer; never raises for a bad query."""
    try:
        return CellRun("ok", run_query(store, sql, max_rows=max_rows, timeout_seconds=timeout_seconds))
    except QueryRefused as exc:
        return CellRun("refused", message=str(exc))
    except QueryCancelled as exc:
        return CellRun("cancelled", message=str(exc))
    except QueryFailed as exc:
        return CellRun("failed", message=str(exc))


def run_all(store: Store, notebook: Notebook, **limits: Any) -> tuple[CellRun, ...]:
    """Run every cell in order (each one independently: a failing cell does not stop the others)."""
    return tuple(run_cell(store, cell.sql, **limits) for cell in notebook.cells)


# ------------------------------------------------------------------ storage
def _clean_name(name: str) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise ValueError("Give the notebook a name before saving it.")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise ValueError(f"Notebook names are at most {MAX_NAME_LENGTH} characters.")
    return cleaned


def _has_table(store: Store) -> bool:
    return bool(store.cursor().execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'saved_notebooks'"
    ).fetchall()[0][0])


def save_notebook(store: Store, notebook: Notebook, attempts: int = 3, actor: Actor | None = None) -> Notebook:
    """Save ``notebook`` as the next version of its name; return it with ``version`` and ``saved_at`` set.

    Earlier versions are kept. Raises ``ReadOnlyStoreError`` on a read-only workbench,
    ``access.WriteRefused`` when ``actor`` is not an analyst, and ``ValueError`` for an empty or too long name.
    """
    if store.read_only:
        raise ReadOnlyStoreError("This workbench is opened read-only; notebooks cannot be saved here.")
    acting = store.authorize(actor, "saving a notebook")
    name = _clean_name(notebook.name)
    for attempt in range(attempts):
        cursor = store.cursor()
        try:
            cursor.execute("BEGIN TRANSACTION")
            cursor.execute(read_sql("notebook/create_saved_notebooks")).fetchall()
            version = cursor.execute(read_sql("notebook/next_version"), {"name": name}).fetchall()[0][0]
            saved_at = datetime.now(timezone.utc).replace(tzinfo=None)
            cursor.execute(read_sql("notebook/insert_version"), {
                "name": name, "version": version, "cells": notebook.cells_json(),
                "description": notebook.description or None, "saved_at": saved_at,
            }).fetchall()
            audit.record(cursor, acting, "save notebook", target=name, detail=f"version {version}")
            cursor.execute("COMMIT")
            return replace(notebook, name=name, version=int(version), saved_at=saved_at)
        except duckdb.TransactionException:  # another session saved the same name at the same moment
            cursor.execute("ROLLBACK")
            if attempt == attempts - 1:
                raise
        except Exception:
            cursor.execute("ROLLBACK")
            raise
        finally:
            cursor.close()
    raise AssertionError("unreachable")


def load_notebook(store: Store, name: str, version: int | None = None) -> Notebook:
    """Version ``version`` (default: the latest) of notebook ``name``; ``LookupError`` if there is none."""
    frame = store.query("notebook/load_version", {"name": name, "version": version}) if _has_table(store) else None
    if frame is None or frame.empty:
        which = f"version {version} of " if version is not None else ""
        raise LookupError(f"There is no saved {which}notebook {name!r}.")
    row = frame.iloc[0]
    cells = tuple(Cell.from_dict(raw) for raw in json.loads(row["cells"]))
    return Notebook(name=row["name"], cells=cells, description=row["description"] or "",
                    version=int(row["version"]), saved_at=row["saved_at"].to_pydatetime())


def list_notebooks(store: Store) -> pd.DataFrame:
    """One row per saved notebook: name, latest_version, cells, description, last_saved_at."""
    if not _has_table(store):
        return pd.DataFrame(columns=["name", "latest_version", "cells", "description", "last_saved_at"])
    return store.query("notebook/list_notebooks")


def notebook_versions(store: Store, name: str) -> pd.DataFrame:
    """One row per saved version of ``name``, newest first."""
    if not _has_table(store):
        return pd.DataFrame(columns=["version", "saved_at", "cells", "description"])
    return store.query("notebook/list_versions", {"name": name})


def share_query(notebook: Notebook) -> str:
    """The query string that reopens this saved version: ``notebook=...&notebook_version=...``."""
    if notebook.version is None:
        raise ValueError("Save the notebook first; only saved versions can be shared.")
    return urlencode({NOTEBOOK_PARAM: notebook.name, VERSION_PARAM: notebook.version})
