"""What an analyst can query: tables, columns, types, row counts, and how each derived table is made.

Canonical tables are described by :mod:`engagement.warehouse.schema` (grain, natural key, column meanings);
derived tables by the first comment line (their grain) and the text of ``engagement/sql/derived/*.sql``.
Types and row counts come from the database itself, so the browser shows what is really there; only the tables
:mod:`engagement.notebook.data_policy` lets a cell query are listed, and a masked column says so.

Example
-------
>>> from engagement.workbench import open_workbench
>>> tables = schema_tables(open_workbench(":memory:"))
>>> tables[0].name, tables[0].kind, tables[0].rows
('customers', 'canonical', 0)
"""

from __future__ import annotations

from dataclasses import dataclass

from engagement.notebook import data_policy, policy_database
from engagement.retention import churn
from engagement.retention import clv_default
from engagement.retention import rfm
from engagement.warehouse.schema import KINDS, TABLES
from engagement.sql import read_sql
from engagement.derived import DERIVED_TABLES
from engagement.sql import quote_identifier as _quote
from engagement.warehouse.store import Store

KIND_ORDER = {"canonical": 0, "derived": 1}
# Derived tables holding the results of models fitted at load, in build order, and their one-row tables.
FITTED_AT_LOAD = clv_default.STORED_MODEL_TABLES + churn.STORED_MODEL_TABLES
FITTED_AT_LOAD_ROWS = (clv_default.STORED_MODEL, churn.STORED_MODEL)
# The SQL that reads each of them back (the CLV model's in sql/clv/, the churn model's in sql/churn/).
_READ_BACK = {**{name: f"clv/stored_{name}" for name in clv_default.STORED_MODEL_TABLES},
              **{name: f"churn/stored_{name}" for name in churn.STORED_MODEL_TABLES}}


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    sql_type: str
    description: str


@dataclass(frozen=True)
class TableInfo:
    """One queryable table. ``definition`` is the SQL that builds a derived table ('' otherwise)."""

    name: str
    kind: str  # canonical or derived (the workbench's own tables are not open to the notebook: data_policy)
    grain: str
    rows: int
    columns: tuple[ColumnInfo, ...]
    key: tuple[str, ...] = ()
    definition: str = ""


def derived_definition(name: str) -> str:
    """The SQL that builds derived table ``name`` (``engagement/sql/derived/<name>.sql``)."""
    return read_sql(f"derived/{name}")


def _grain_comment(sql: str) -> str:
    first = sql.lstrip().splitlines()[0] if sql.strip() else ""
    return first.split("Grain:", 1)[1].strip() if "Grain:" in first else ""


def schema_tables(store: Store) -> list[TableInfo]:
    """Every table a notebook cell may query (``data_policy``): canonical first, then derived."""
    cursor = store.cursor()
    columns = cursor.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = 'main' AND NOT internal "
        "ORDER BY table_name, column_index"
    ).fetchall()
    by_table: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in columns:
        if data_policy.is_queryable(table):
            by_table.setdefault(table, []).append((column, data_type))
    if not by_table:
        return []
    # Identifiers come from the catalog and are quoted; no user input reaches this statement.
    names = list(by_table)
    counts_sql = "SELECT " + ", ".join(f"(SELECT count(*) FROM {_quote(t)})" for t in names)
    counts = dict(zip(names, cursor.execute(counts_sql).fetchall()[0]))
    hash_ids = policy_database.ids_are_personal(cursor)  # the notebook hashes ids that are e-mail addresses

    tables = []
    for name, cols in by_table.items():
        if name in TABLES:
            spec = TABLES[name]
            descriptions = {c.name: c.description for c in spec.columns}
            descriptions["load_id"] = "The load that last wrote this row (the Data page lists the loads)."
            kind, grain, key, definition = "canonical", spec.grain, spec.key, ""
            if name == "customers" and "customer_summary" in by_table:
                implied = cursor.execute("SELECT count(*) FROM customer_summary WHERE is_implied").fetchall()[0][0]
                # Customers implied by activity are derived, never inserted here (undo stays simple).
                grain += (f" from customers exports; {implied:,} more customers are implied by activity "
                          "(customer_summary.is_implied)") if implied else " from customers exports"
        elif name in DERIVED_TABLES:
            definition = derived_definition(name)
            descriptions = dict(_DERIVED_COLUMNS.get(name, {}))
            kind, grain, key = "derived", _grain_comment(definition), ()
        elif name == rfm.STORED_SCORES:
            # Built by rfm.store_default_scores: the scoring SQL chained after the stored window sums.
            definition = rfm.default_scores_run().statement()
            descriptions = {}
            kind, grain, key = "derived", _grain_comment(read_sql("rfm/stored_default_scores")), ()
        else:  # FITTED_AT_LOAD: data_policy lets nothing else through
            # Filled from the models fitted at load (engagement/retention/clv_default.py, engagement/retention/churn.py): each one-row
            # table is built by its derived SQL, the others from the model's result; each is described by the SQL
            # that reads it back.
            definition = derived_definition(name) if name in FITTED_AT_LOAD_ROWS else ""
            descriptions = {}
            kind, grain, key = "derived", _grain_comment(read_sql(_READ_BACK[name])), ()
        tables.append(TableInfo(
            name=name, kind=kind, grain=grain, rows=int(counts.get(name, 0)), key=tuple(key),
            columns=tuple(ColumnInfo(c, t, _masked(name, c, descriptions.get(c, ""), hash_ids)) for c, t in cols),
            definition=definition,
        ))
    canonical_order = {k: i for i, k in enumerate(KINDS + DERIVED_TABLES + FITTED_AT_LOAD)}
    return sorted(tables, key=lambda t: (KIND_ORDER[t.kind], canonical_order.get(t.name, 99), t.name))


def _masked(table: str, column: str, description: str, hash_ids: bool) -> str:
    treatment = data_policy.column_treatment(table, column, hash_ids)
    note = {"hash": "Masked in the notebook: a keyed hash (masked-…), equal values stay equal.",
            "scrub": "In the notebook, e-mail addresses and phone numbers in the text are removed."}.get(treatment)
    return f"{description} {note}".strip() if note else description


_DERIVED_COLUMNS = {
    "customer_summary": {
        "is_implied": "True when no customers export has this id: the customer is implied by activity (orders, "
                      "events, surveys, experiment assignments); created_at is then the first activity seen.",
    },
}
