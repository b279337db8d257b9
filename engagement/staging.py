"""From mapped text to typed, checkable rows: the ``checked`` temporary table validation runs on.

``checked`` has one row per incoming row of the kind (one per order for a folded Shopify export) with

- ``file_row``: the row number in the original file;
- every canonical column the file provided, typed (NULL when blank or unreadable);
- ``<column>_parses`` for every non-text column: false when the cell held text we could not read as
  that type (a blank cell parses: missing values are the not-null expectation's business);
- computed columns the suites refer to: ``customer_is_known`` (the customer exists in the stored
  customers table, or in the same file for a customers load) and, for orders,
  ``currency_is_reporting`` (the order's currency is the reporting currency: the most common currency
  of the stored orders, or of the file when none are stored).

Foreign keys cannot be a plain Great Expectations expectation on a file (GX sees only the file), so
the lookup against the database happens here, in SQL, and the suite declares the rule as
``expect_column_values_to_be_in_set(customer_is_known, [true])``: the JSON still says what is checked,
and the report counts it like any other expectation.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from engagement.parsing import date_order_probe_sql, typed_sql
from engagement.readers import ROW_COLUMN, table_columns
from engagement.schema import TABLES

MAPPED_TABLE = "mapped_input"
CHECKED_TABLE = "checked_input"
TEXT_TYPES = ("VARCHAR",)
EVENT_ID_SQL = (
    "md5(concat_ws('|', customer_id, CAST(occurred_at AS VARCHAR), event_type, coalesce(campaign_id, '')))"
)


@dataclass(frozen=True)
class StagedInput:
    """What ``checked_input`` holds: the typed canonical columns, flag columns and computed columns."""

    kind: str
    rows: int
    columns: tuple[str, ...]
    parse_flags: tuple[str, ...]
    computed: tuple[str, ...]
    date_orders: tuple[tuple[str, str], ...]
    reporting_currency: str | None


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _mapped_columns(cur: duckdb.DuckDBPyConnection) -> list[str]:
    return [c for c in table_columns(cur, MAPPED_TABLE) if c != ROW_COLUMN]


def _probe_dates(cur: duckdb.DuckDBPyConnection, column: str, decimal_comma: bool) -> tuple[str | None, bool]:
    """(``day_first``/``month_first``/None when the column has no d/m/y-like dates, has UTC offsets)."""
    day_first, month_first, slash_dates, offsets = cur.execute(
        f"SELECT {date_order_probe_sql(_quote(column))} FROM {MAPPED_TABLE}"
    ).fetchall()[0]
    if not slash_dates:
        return None, bool(offsets)
    if day_first and not month_first:
        return "day_first", bool(offsets)
    if month_first and not day_first:
        return "month_first", bool(offsets)
    # Undecidable from the values (all parts <= 12, or both kinds present): follow the file's locale.
    return ("day_first" if decimal_comma else "month_first"), bool(offsets)


def stage(cur: duckdb.DuckDBPyConnection, kind: str, select_sql: str, decimal_comma: bool,
          has_customers_table: bool = True) -> StagedInput:
    """Create ``mapped_input`` (text, a view) and ``checked_input`` (typed + flags) on ``cur``.

    One pass over the file: the inner SELECT types each column once, the outer one derives the
    ``_parses`` flags and computed columns from the typed values.
    """
    spec = TABLES[kind]
    cur.execute(f"CREATE OR REPLACE TEMP VIEW {MAPPED_TABLE} AS {select_sql}").fetchall()
    present = _mapped_columns(cur)
    inner, outer = [ROW_COLUMN], [ROW_COLUMN]
    flags, date_orders = [], []
    for column in spec.columns:
        if column.name not in present:
            continue
        name = _quote(column.name)
        order, offsets = "month_first", False
        if column.sql_type in ("TIMESTAMP", "DATE"):
            found, offsets = _probe_dates(cur, column.name, decimal_comma)
            if found is not None:
                date_orders.append((column.name, found))
            order = found or "month_first"
        inner.append(f"{typed_sql(name, column.sql_type, decimal_comma, order, offsets)} AS {name}")
        outer.append(name)
        if column.sql_type not in TEXT_TYPES:
            flag = f"{column.name}_parses"
            inner.append(f"nullif(trim({name}), '') IS NULL AS {_quote(column.name + '__blank')}")
            outer.append(f"({_quote(column.name + '__blank')} OR {name} IS NOT NULL) AS {_quote(flag)}")
            flags.append(flag)

    computed = []
    if kind == "events" and "event_id" not in present:
        outer.append(f"{EVENT_ID_SQL} AS event_id")
        present.append("event_id")
    if "customer_id" in present and kind != "customers":
        known = "customer_id IN (SELECT customer_id FROM main.customers)" if has_customers_table else "false"
        outer.append(f"CASE WHEN customer_id IS NULL THEN NULL ELSE {known} END AS customer_is_known")
        computed.append("customer_is_known")
    reporting_currency = None
    if kind == "orders" and "currency" in present:
        reporting_currency = _reporting_currency(cur, has_customers_table)
        outer.append("CASE WHEN currency IS NULL THEN NULL ELSE upper(currency) = $currency END "
                     "AS currency_is_reporting")
        computed.append("currency_is_reporting")
    select = (f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM {MAPPED_TABLE}) typed")
    cur.execute(f"CREATE OR REPLACE TEMP TABLE {CHECKED_TABLE} AS {select}",
                {"currency": reporting_currency} if reporting_currency is not None else {}).fetchall()
    rows = cur.execute(f"SELECT count(*) FROM {CHECKED_TABLE}").fetchall()[0][0]
    ordered = tuple(c for c in spec.column_names if c in present)
    return StagedInput(kind, rows, ordered, tuple(flags), tuple(computed), tuple(date_orders), reporting_currency)


def _reporting_currency(cur: duckdb.DuckDBPyConnection, has_tables: bool) -> str | None:
    """Most common currency of the stored orders; of this file when the store holds none."""
    stored = []
    if has_tables:
        stored = cur.execute(
            "SELECT upper(currency) FROM main.orders WHERE currency IS NOT NULL "
            "GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1"
        ).fetchall()
    if stored:
        return stored[0][0]
    in_file = cur.execute(
        f"SELECT upper(trim(currency)) FROM {MAPPED_TABLE} WHERE nullif(trim(currency), '') IS NOT NULL "
        "GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1"
    ).fetchall()
    return in_file[0][0] if in_file else None
