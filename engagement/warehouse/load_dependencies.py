"""Which loads still need the customers a customers load added: undoing it must wait for theirs.

Orders, events, messages, surveys and experiment assignments name a customer that must exist (their
suites check it at load). Undoing a customers load removes the customers it added (and brings back any it
replaced), so undoing it while other tables still name those customers would leave orders without a
customer: the undo is refused, naming the loads to undo first.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from engagement.warehouse.schema import TABLES
from engagement.sql import quote_identifier

# Kinds whose rows name a customer (every table with a customer_id besides customers itself).
NEEDS_CUSTOMERS = tuple(k for k, spec in TABLES.items() if k != "customers" and "customer_id" in spec.column_names)


class UndoBlocked(ValueError):
    """An undo refused because later loads still need what it would remove; the message names them."""


@dataclass(frozen=True)
class DependentLoad:
    load_id: int
    kind: str
    rows: int  # rows of that load naming a customer the undo would remove


def loads_needing_customers_of(cur: duckdb.DuckDBPyConnection, load_id: int) -> list[DependentLoad]:
    """Active loads whose rows name a customer that only customers load ``load_id`` holds, newest first.

    A customer this load replaced (an earlier row with the same id) comes back on undo, so it is not lost.
    """
    unions = " UNION ALL ".join(
        f"SELECT {quote_identifier(kind)}.load_id, '{kind}' AS kind FROM {quote_identifier(kind)} "
        f"JOIN leaving USING (customer_id)" for kind in NEEDS_CUSTOMERS
    )
    rows = cur.execute(
        "WITH leaving AS (SELECT customer_id FROM customers WHERE load_id = $id "
        "EXCEPT SELECT customer_id FROM replaced_customers WHERE replaced_by_load_id = $id) "
        f"SELECT load_id, kind, count(*) AS n FROM ({unions}) GROUP BY load_id, kind ORDER BY load_id DESC",
        {"id": load_id},
    ).fetchall()
    return [DependentLoad(int(i), kind, int(n)) for i, kind, n in rows]


def refuse_if_needed(cur: duckdb.DuckDBPyConnection, kind: str, load_id: int) -> None:
    """Raise :class:`UndoBlocked` when undoing load ``load_id`` of ``kind`` would orphan other loads' rows."""
    if kind != "customers":
        return
    dependents = loads_needing_customers_of(cur, load_id)
    if not dependents:
        return
    needed = ", ".join(f"{d.rows:,} {d.kind.replace('_', ' ')} of load {d.load_id}" for d in dependents)
    order = ", then ".join(str(d.load_id) for d in dependents)
    raise UndoBlocked(
        f"Load {load_id} (customers) cannot be undone: {needed} name customers only this load holds, and would "
        f"be left without them. Undo load {order} first (newest first), or keep this load."
    )
