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


def _fast_cast(column: str, sql_type: str) -> str:
    return f"try_cast({_quote(column)} AS {sql_type})"


def _probe(cur: duckdb.DuckDBPyConnection, columns: list, decimal_comma: bool) -> dict[str, dict[str, int]]:
    """One scan of the file answering, per typed column: how many non-blank cells a plain cast cannot
    read, and for dates: d/m/y-like cells with a first part > 12, a second part > 12, and UTC offsets."""
    parts, names = [], []
    for column in columns:
        name = _quote(column.name)
        if column.sql_type.startswith("DECIMAL") or column.sql_type in ("TIMESTAMP", "DATE"):
            fast_type = "TIMESTAMP" if column.sql_type == "DATE" else column.sql_type
            parts.append(f"count(*) FILTER (WHERE {_fast_cast(column.name, fast_type)} IS NULL "
                         f"AND nullif(trim({name}), '') IS NOT NULL)")
            names.append((column.name, "slow"))
        if column.sql_type in ("TIMESTAMP", "DATE"):
            parts.append(date_order_probe_sql(name))
            names.extend((column.name, key) for key in ("day_first", "month_first", "slash_dates", "offsets"))
    if not parts:
        return {}
    values = cur.execute(f"SELECT {', '.join(parts)} FROM {MAPPED_TABLE}").fetchall()[0]
    found: dict[str, dict[str, int]] = {}
    for (column, key), value in zip(names, values):
        found.setdefault(column, {})[key] = int(value)
    return found


def _date_order(probe: dict[str, int], decimal_comma: bool) -> str | None:
    """``day_first``/``month_first`` for a column holding d/m/y-like dates; None when it holds none."""
    if not probe.get("slash_dates"):
        return None
    if probe["day_first"] and not probe["month_first"]:
        return "day_first"
    if probe["month_first"] and not probe["day_first"]:
        return "month_first"
    # Undecidable from the values (all parts <= 12, or both kinds present): follow the file's locale.
    return "day_first" if decimal_comma else "month_first"


def stage(cur: duckdb.DuckDBPyConnection, kind: str, select_sql: str, decimal_comma: bool,
          has_customers_table: bool = True) -> StagedInput:
    """Create ``mapped_input`` (text, a view) and ``checked_input`` (typed + flags) on ``cur``.

    A first scan (:func:`_probe`) finds the columns a plain cast reads completely (nearly always:
    exports are machine-written); those are typed with that cast and their ``_parses`` flag is
    constant true. Other columns get the forgiving parsers of :mod:`engagement.parsing`. The second
    scan writes ``checked_input``: the inner SELECT types each column once, the outer one derives the
    flags and computed columns from the typed values.
    """
    spec = TABLES[kind]
    cur.execute(f"CREATE OR REPLACE TEMP VIEW {MAPPED_TABLE} AS {select_sql}").fetchall()
    present = _mapped_columns(cur)
    typed_columns = [c for c in spec.columns if c.name in present and c.sql_type not in TEXT_TYPES]
    probes = _probe(cur, typed_columns, decimal_comma)
    inner, outer = [ROW_COLUMN], [ROW_COLUMN]
    flags, date_orders = [], []
    for column in spec.columns:
        if column.name not in present:
            continue
        name = _quote(column.name)
        if column.sql_type in TEXT_TYPES:
            inner.append(f"{typed_sql(name, column.sql_type, decimal_comma, 'month_first')} AS {name}")
            outer.append(name)
            continue
        probe = probes.get(column.name, {})
        order = _date_order(probe, decimal_comma)
        if order is not None:
            date_orders.append((column.name, order))
        flag = f"{column.name}_parses"
        flags.append(flag)
        fast = probe.get("slow") == 0 and not probe.get("offsets") and not (
            decimal_comma and column.sql_type.startswith("DECIMAL"))
        if fast:
            cast = _fast_cast(column.name, "TIMESTAMP" if column.sql_type == "DATE" else column.sql_type)
            inner.append(f"CAST({cast} AS {column.sql_type}) AS {name}")
            outer.extend([name, f"true AS {_quote(flag)}"])
            continue
        typed = typed_sql(name, column.sql_type, decimal_comma, order or "month_first", bool(probe.get("offsets", 1)))
        inner.append(f"{typed} AS {name}")
        inner.append(f"nullif(trim({name}), '') IS NULL AS {_quote(column.name + '__blank')}")
        outer.extend([name, f"({_quote(column.name + '__blank')} OR {name} IS NOT NULL) AS {_quote(flag)}"])

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
