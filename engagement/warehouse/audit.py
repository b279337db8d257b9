"""The audit trail: who loaded, undid, saved or changed what, and when, kept in the database.

Rows are written on the cursor of the write they describe, inside its transaction: a load that rolls
back leaves no audit row, and a committed one always has its row. The acting user comes from
:meth:`Store.authorize` (the signed-in user in the app, ``cli:<user>`` on the command line).
"""

from __future__ import annotations

from datetime import datetime, timezone

import duckdb
import pandas as pd

from engagement.warehouse.access import Actor

AUDIT_DDL = """
CREATE TABLE IF NOT EXISTS audit_log (
    acted_at TIMESTAMP NOT NULL,
    actor VARCHAR NOT NULL,
    role VARCHAR,
    via VARCHAR,
    action VARCHAR NOT NULL,
    target VARCHAR,
    load_id BIGINT,
    detail VARCHAR
)
"""
COLUMNS = ["acted_at", "actor", "role", "action", "load_id", "target", "detail", "via"]


def record(cur: duckdb.DuckDBPyConnection, actor: Actor, action: str, target: str | None = None,
           load_id: int | None = None, detail: str | None = None) -> None:
    """Add one row to ``audit_log`` on ``cur`` (inside the caller's transaction, if any). The table is made by
    ``Store.ensure_schema``, which every writable open runs (only a writable store records)."""
    cur.execute(
        "INSERT INTO audit_log VALUES ($at, $actor, $role, $via, $action, $target, $load_id, $detail)",
        {"at": datetime.now(timezone.utc).replace(tzinfo=None), "actor": actor.name, "role": actor.role,
         "via": actor.via, "action": action, "target": target, "load_id": load_id, "detail": detail},
    ).fetchall()


def audit_trail(store, limit: int = 200) -> pd.DataFrame:
    """The newest ``limit`` audit rows, newest first (UTC times); empty for a database made before the trail."""
    if not store.has_table("audit_log"):
        return pd.DataFrame(columns=COLUMNS)
    return store.query("intake/audit_trail", {"limit": limit})
