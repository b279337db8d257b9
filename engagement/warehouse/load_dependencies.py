"""What undoing a customers load leaves behind: customers that later loads still name become implied.

A customer exists when any loaded activity (orders, events, surveys, experiment assignments: ``IMPLYING_KINDS``, as
sql/derived/customer_facts.sql reads them) names the id; a customers export only adds attributes (README, "What
each source needs"). A message is the brand's send, not the customer's activity: it makes no customer. Undoing a
customers load removes the rows it added (and brings back any it replaced), so the customers it alone held whom
activity still names stay, as implied customers without this load's attributes, and those named only by messages
leave the customer-level views (their sends stay loaded). The undo says so (the Data page before it asks to confirm,
the CLI in its output) rather than refusing: no activity is lost, and undoing every later load first would take the
brand's orders with it.
"""

from __future__ import annotations

import duckdb

from engagement.warehouse.schema import TABLES
from engagement.sql import quote_identifier

# Kinds whose rows name a customer (every table with a customer_id besides customers itself).
NEEDS_CUSTOMERS = tuple(k for k, spec in TABLES.items() if k != "customers" and "customer_id" in spec.column_names)
# Kinds whose rows make a customer of the id they name (sql/derived/customer_facts.sql, activity_first_seen).
IMPLYING_KINDS = ("orders", "events", "surveys", "experiment_assignments")


def _leaving_named_sql() -> str:
    """CTEs: ``leaving`` (the customers only load $id holds: one it replaced comes back on undo, so it is not lost)
    and ``named`` (load, kind and customer of every row of another table that names one of them)."""
    unions = " UNION ALL ".join(
        f"SELECT {quote_identifier(kind)}.load_id, '{kind}' AS kind, customer_id FROM {quote_identifier(kind)} "
        f"JOIN leaving USING (customer_id)" for kind in NEEDS_CUSTOMERS
    )
    return ("WITH leaving AS (SELECT customer_id FROM customers WHERE load_id = $id "
            "EXCEPT SELECT customer_id FROM replaced_customers WHERE replaced_by_load_id = $id), "
            f"named AS ({unions})")


def customers_left_implied(cur: duckdb.DuckDBPyConnection, kind: str, load_id: int) -> str | None:
    """The sentence an undo of load ``load_id`` adds when later loads name customers it removes, or None (not a
    customers load, or no later load names its customers): how many stay implied (named by an implying row), and
    how many named only by messages leave the customer-level views; each with the loads that name them."""
    if kind != "customers":
        return None
    implying = ", ".join(f"'{k}'" for k in IMPLYING_KINDS)
    # Per (load, kind, stays) the rows, and per "stays" alone (load_id NULL) the customers.
    groups = cur.execute(
        f"{_leaving_named_sql()}, stays AS (SELECT customer_id, bool_or(kind IN ({implying})) AS stays FROM named "
        "GROUP BY customer_id) "
        "SELECT load_id, kind, stays, count(*), count(DISTINCT customer_id) FROM named JOIN stays USING (customer_id) "
        "GROUP BY GROUPING SETS ((load_id, kind, stays), (stays)) ORDER BY load_id DESC NULLS FIRST, kind",
        {"id": load_id}).fetchall()
    customers = {stays: n for i, _, stays, _, n in groups if i is None}

    def listed(stays: bool) -> str:
        return ", ".join(f"{rows:,} {k.replace('_', ' ')} of load {i}" for i, k, s, rows, _ in groups
                         if i is not None and s == stays and (k in IMPLYING_KINDS) == stays)

    said = []
    if customers.get(True):
        said.append(f"{customers[True]:,} customers of load {load_id} are named by {listed(True)}: they stay as "
                    "implied customers, without the attributes this load gave them (acquisition channel, sign-up "
                    "date, ...).")
    if customers.get(False):
        said.append(f"{customers[False]:,} {'more ' if customers.get(True) else ''}customers of load {load_id} are "
                    f"named only by {listed(False)}: a message alone does not make a customer, so they leave the "
                    "customer-level views (their messages stay loaded).")
    return " ".join(said) or None
