"""From mapped text to typed, checkable rows: the ``checked_input`` view validation runs on.

``checked_input`` (a view over the temporary table ``checked_rows``) has one row per incoming row of
the kind (one per order for a folded Shopify export) with

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
from typing import Any, Callable

import duckdb

from engagement.intake.parsing import has_offset_sql, offset_probe_sql, slash_date_probe_sql, typed_sql
from engagement.intake.readers import ROW_COLUMN, table_columns
from engagement.warehouse.schema import TABLES

MAPPED_TABLE = "mapped_input"
CHECKED_TABLE = "checked_input"
CHECKED_ROWS = "checked_rows"
NUMBERED_ROWS = "numbered_rows"
LOOKUP_COLUMNS = ("customer_is_known", "currency_is_reporting")
HEAD_TABLE = "checked_head"
CURRENCY_VARIABLE = "engagement_reporting_currency"
HEAD_ROWS = 10_000
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
    # Columns whose values no two rows share, by construction (a fold's order keys kept as they were grouped):
    # their uniqueness check has nothing to find (validation's ``enforced``).
    unique: tuple[str, ...] = ()
    # Measured by the staging pass's own aggregate (folding.stage_typed) instead of a query each: (column, 1st
    # percentile) for the suite's long-before bounds, and (customer ids in no customers export, rows without one)
    # for the implied-customers note. Empty / None: queried when needed.
    first_percentiles: tuple[tuple[str, Any], ...] = ()
    activity: tuple[int, int] | None = None


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _mapped_columns(cur: duckdb.DuckDBPyConnection) -> list[str]:
    return [c for c in table_columns(cur, MAPPED_TABLE) if c != ROW_COLUMN]


def _fast_cast(column: str, sql_type: str) -> str:
    return f"try_cast({_quote(column)} AS {sql_type})"


def _probe(cur: duckdb.DuckDBPyConnection, columns: list, decimal_comma: bool) -> dict[str, dict[str, int]]:
    """Per typed column: how many non-blank cells a plain cast cannot read (``slow``); for dates also
    d/m/y-like cells with a first part > 12, a second part > 12, and cells with UTC offsets.

    Separate WHERE-filtered queries, not FILTER clauses in one: DuckDB evaluates every FILTER
    expression on every row, and the regular expressions must only see the few cells that need them.
    """
    parts, names = [], []
    for column in columns:
        if column.sql_type.startswith("DECIMAL") or column.sql_type in ("TIMESTAMP", "DATE"):
            fast_type = "TIMESTAMP" if column.sql_type == "DATE" else column.sql_type
            # Cells present but not read by the plain cast (a cell of spaces counts too: it then takes
            # the forgiving path, which reads it as blank).
            parts.append(f"count({_quote(column.name)}) - count({_fast_cast(column.name, fast_type)})")
            names.append(column.name)
    found: dict[str, dict[str, int]] = {}
    if parts:
        values = cur.execute(f"SELECT {', '.join(parts)} FROM {MAPPED_TABLE}").fetchall()[0]
        found = {name: {"slow": int(value)} for name, value in zip(names, values)}
    for column in columns:
        if column.sql_type not in ("TIMESTAMP", "DATE"):
            continue
        name = _quote(column.name)
        probe = found[column.name]
        probe["offsets"] = int(cur.execute(offset_probe_sql(name, MAPPED_TABLE)).fetchall()[0][0])
        probe["day_first"] = probe["month_first"] = probe["slash_dates"] = 0
        if probe["slow"]:
            day, month, slash = cur.execute(slash_date_probe_sql(name, MAPPED_TABLE)).fetchall()[0]
            probe.update(day_first=int(day), month_first=int(month), slash_dates=int(slash))
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


@dataclass(frozen=True)
class _MappedColumns:
    """What ``mapped_input`` holds for a kind and how each typed column is read first."""

    spec: object
    present: list  # canonical columns of the file, plus derived ones (the event id) once _map has run
    file_columns: list  # canonical columns of the file
    typed_columns: list  # its non-text columns (schema Column objects)
    forgiving: set  # read by the forgiving parsers from the start (integers, booleans, decimal-comma money)
    plain: list  # typed columns tried with a plain cast first
    extra: list  # SQL of columns computed from the row alone (see _derived_columns)


def _map(cur: duckdb.DuckDBPyConnection, kind: str, select_sql: str, decimal_comma: bool) -> _MappedColumns:
    """CREATE the view ``mapped_input`` and sort the kind's columns by how they are typed."""
    spec = TABLES[kind]
    cur.execute(f"CREATE OR REPLACE TEMP VIEW {MAPPED_TABLE} AS {select_sql}").fetchall()
    present = _mapped_columns(cur)
    file_columns = list(present)
    typed_columns = [c for c in spec.columns if c.name in present and c.sql_type not in TEXT_TYPES]
    forgiving = {c.name for c in typed_columns
                 if c.sql_type in ("INTEGER", "BIGINT", "BOOLEAN")
                 or (decimal_comma and c.sql_type.startswith("DECIMAL"))}
    plain = [c for c in typed_columns if c.name not in forgiving]
    extra = _derived_columns(kind, present)
    return _MappedColumns(spec, present, file_columns, typed_columns, forgiving, plain, extra)


def _head_needs_forgiving_parse(cur: duckdb.DuckDBPyConnection, mapped: _MappedColumns, decimal_comma: bool) -> bool:
    """Whether a plainly cast column of the file's first HEAD_ROWS rows has unread cells or UTC offsets."""
    if not mapped.plain:
        return False
    head = f"(SELECT * FROM {MAPPED_TABLE} LIMIT {HEAD_ROWS})"
    cur.execute(_checked_sql(mapped.spec, mapped.file_columns, mapped.forgiving, {}, decimal_comma, [],
                             numbered=False, source=head, target=HEAD_TABLE)).fetchall()
    needs = bool(_columns_needing_forgiving_parse(cur, mapped.plain, HEAD_TABLE))
    cur.execute(f"DROP TABLE IF EXISTS {HEAD_TABLE}").fetchall()
    return needs


def stage(cur: duckdb.DuckDBPyConnection, kind: str, select_sql: str, decimal_comma: bool,
          has_customers_table: bool = True, read_text: Callable[[], None] | None = None,
          strict_customers: bool = False) -> StagedInput:
    """Create ``mapped_input`` (text, a view) and ``checked_input`` (typed + flags) on ``cur``.

    Speculative typing: every number and date column is first typed with a plain cast (what
    machine-written exports need), in one scan that also flags cells the cast could not read and
    timestamps carrying a UTC offset. Only when a column has such cells is it probed
    (:func:`_probe`: d/m/y order, offsets) and typed again with the forgiving parsers of
    :mod:`engagement.intake.parsing`. Money in a decimal-comma file always takes the forgiving parser, since
    a plain cast would read ``1.234`` (one thousand two hundred thirty-four) as 1.234.

    ``read_text`` is given when ``raw_input`` is still a view over the file (``readers.read_into``
    with ``defer_text``) and ``select_sql`` keeps one row per file row in file order: the typed rows
    are then read straight from the file and numbered by their position, and ``read_text()`` (which
    reads the text table with row numbers) is called only before a second, forgiving pass. A first
    look at the file's head sends a file that needs the forgiving pass to the text table at once.
    """
    spec = TABLES[kind]
    mapped = _map(cur, kind, select_sql, decimal_comma)
    present, file_columns, typed_columns, forgiving, plain, extra = (
        mapped.present, mapped.file_columns, mapped.typed_columns, mapped.forgiving, mapped.plain, mapped.extra)
    numbered = read_text is None
    if not numbered and _head_needs_forgiving_parse(cur, mapped, decimal_comma):
        read_text()
        numbered = True

    probes: dict[str, dict[str, int]] = {}
    cur.execute(_checked_sql(spec, file_columns, forgiving, probes, decimal_comma, extra, numbered=numbered)).fetchall()
    needs_retry = _columns_needing_forgiving_parse(cur, plain, CHECKED_ROWS)
    if needs_retry:
        if not numbered:
            read_text()
            numbered = True
        forgiving |= needs_retry
        probes = _probe(cur, [c for c in typed_columns if c.name in forgiving], decimal_comma)
        cur.execute(_checked_sql(spec, file_columns, forgiving, probes, decimal_comma, extra)).fetchall()
    computed, reporting_currency = checked_views(cur, kind, present, numbered, has_customers_table,
                                                 strict_customers=strict_customers)
    date_orders = tuple((name, order) for name, probe in probes.items()
                        if (order := _date_order(probe, decimal_comma)) is not None)
    rows = cur.execute(f"SELECT count(*) FROM {CHECKED_ROWS}").fetchall()[0][0]
    ordered = tuple(c for c in spec.column_names if c in present)
    flags = tuple(f"{c.name}_parses" for c in typed_columns)
    return StagedInput(kind, rows, ordered, flags, computed, date_orders, reporting_currency)


STRICT_ROWS = "strict_rows"


def stage_strict(cur: duckdb.DuckDBPyConnection, kind: str, select_sql: str, decimal_comma: bool,
                 failing_row_sql: Callable[[tuple[str, ...]], str | None] | None = None) -> tuple[str, ...] | None:
    """CREATE the view ``strict_rows``: the typed canonical columns read straight from the file, for a
    load that writes the rows once and validates them where they are stored (``ingest``).

    Every cell must be read as :func:`stage` would read it without the forgiving second pass: a cell
    the plain cast cannot read, or a timestamp carrying a UTC offset, makes reading the view raise an
    error, and the caller falls back to :func:`stage`. So the rows are typed exactly as ``stage`` would
    type them, or not at all.

    ``failing_row_sql(columns)`` gives SQL true on a row that fails a check (sql_checks.row_failure_sql):
    reading such a row raises too, so a file with failing rows stops at the first one.

    Returns the view's columns, or None when the file's head already needs the forgiving pass.
    """
    spec = TABLES[kind]
    mapped = _map(cur, kind, select_sql, decimal_comma)
    present, file_columns, typed_columns, forgiving, extra = (
        mapped.present, mapped.file_columns, mapped.typed_columns, mapped.forgiving, mapped.extra)
    if _head_needs_forgiving_parse(cur, mapped, decimal_comma):
        return None
    select = _checked_select(spec, file_columns, forgiving, {}, decimal_comma, extra, numbered=False)
    columns = tuple(c for c in spec.column_names if c in present)
    failing = failing_row_sql(columns) if failing_row_sql is not None else None
    outer = []
    for column in spec.columns:
        if column.name not in present:
            continue
        name = _quote(column.name)
        # (condition that refuses the row, what the error says)
        refusals = [(f"({failing})", "a row fails a check")] if failing and not outer else []
        if column in typed_columns:
            refused = [f"NOT {_quote(column.name + '_parses')}"]
            if column.name not in forgiving and column.sql_type in ("TIMESTAMP", "DATE"):
                refused.append(_quote(column.name + "__offset"))
            refusals.append((" OR ".join(refused), f"{column.name}: needs the forgiving parse"))
        cases = " ".join(f"WHEN {condition} THEN error('{message}')" for condition, message in refusals)
        outer.append(f"CASE {cases} ELSE {name} END AS {name}" if refusals else name)
    cur.execute(f"CREATE OR REPLACE TEMP VIEW {STRICT_ROWS} AS SELECT {', '.join(outer)} FROM ({select}) checked"
                ).fetchall()
    return columns


def stage_loaded(cur: duckdb.DuckDBPyConnection, kind: str, columns: tuple[str, ...], load_id: int,
                 rows: int, strict_customers: bool = False) -> StagedInput:
    """``checked_input`` over the rows a load has just written (``load_id``), read by :func:`stage_strict`.

    Every cell was read (else writing them would have failed), so every ``_parses`` flag is true;
    ``file_row`` is NULL: rows are quoted back from the file only by the path through :func:`stage`.
    The reporting currency is that of the orders stored before this load.
    """
    spec = TABLES[kind]
    typed = [c for c in spec.columns if c.name in columns and c.sql_type not in TEXT_TYPES]
    flags = tuple(f"{c.name}_parses" for c in typed)
    selected = ", ".join([f"CAST(NULL AS BIGINT) AS {ROW_COLUMN}"] + [_quote(c) for c in columns]
                         + [f"true AS {_quote(flag)}" for flag in flags])
    cur.execute(f"CREATE OR REPLACE TEMP VIEW {CHECKED_ROWS} AS SELECT {selected} FROM main.{_quote(kind)} "
                f"WHERE load_id = {int(load_id)}").fetchall()
    computed, reporting_currency = checked_views(cur, kind, list(columns), True, True, before_load_id=load_id,
                                                 strict_customers=strict_customers)
    return StagedInput(kind, rows, columns, flags, computed, (), reporting_currency)


def _derived_columns(kind: str, present: list[str]) -> list[str]:
    """Columns computed from the row alone in the typing pass: the event id when the file has none."""
    if kind == "events" and "event_id" not in present:
        present.append("event_id")
        return [f"{EVENT_ID_SQL} AS event_id"]
    return []


def checked_views(cur: duckdb.DuckDBPyConnection, kind: str, present: list[str], numbered: bool,
                  has_tables: bool, before_load_id: int | None = None,
                  strict_customers: bool = False, flags: list[str] | tuple[str, ...] = ()
                  ) -> tuple[tuple[str, ...], str | None]:
    """CREATE ``numbered_rows`` (``checked_rows`` with ``file_row``) and ``checked_input`` (plus the lookups).

    ``file_row`` is the row's position when it was typed straight from the file: the typing pass is a
    plain projection, which keeps file order. The lookups (``customer_is_known``: a join with the
    stored customers; ``currency_is_reporting``) are computed in the view, after the rows are
    numbered, because a join does not keep the order of its input (measured: a CTAS with the
    customer lookup wrote 5M rows out of file order). Queries that need no lookup (the load, the
    uniqueness check) read ``numbered_rows``. The reporting currency may be the file's own most
    common one, known only after the typing pass; a view cannot bind parameters, so it is bound to a
    variable of this cursor's session (a scalar subquery would add a cross product to every query).

    Without ``strict_customers`` every named customer is known: a customer exists when any activity names
    the id (customer_summary derives the implied ones); strict mode keeps the refusal of ids missing from
    the customers table.

    ``flags``: ``<column>_parses`` flags computed from the row (``expression AS name``) that ``checked_rows`` does
    not hold, added to ``numbered_rows``.

    Returns the lookup columns and the reporting currency (None when the file has no currency column).
    """
    row_number = "" if numbered else f"CAST(rowid + 2 AS BIGINT) AS {ROW_COLUMN}, "
    added = "".join(f", {flag}" for flag in flags)
    cur.execute(f"CREATE OR REPLACE TEMP VIEW {NUMBERED_ROWS} AS SELECT {row_number}*{added} FROM {CHECKED_ROWS}"
                ).fetchall()
    lookups, reporting_currency = [], None
    if "customer_id" in present and kind != "customers":
        known = ("true" if not strict_customers else
                 "customer_id IN (SELECT customer_id FROM main.customers)" if has_tables else "false")
        lookups.append(f"CASE WHEN customer_id IS NULL THEN NULL ELSE {known} END AS customer_is_known")
    if kind == "orders" and "currency" in present:
        reporting_currency = _reporting_currency(cur, has_tables, before_load_id)
        cur.execute(f"SET VARIABLE {CURRENCY_VARIABLE} = CAST($code AS VARCHAR)",
                    {"code": reporting_currency}).fetchall()
        lookups.append(f"CASE WHEN currency IS NULL THEN NULL ELSE upper(currency) = "
                       f"getvariable('{CURRENCY_VARIABLE}') END AS currency_is_reporting")
    cur.execute(f"CREATE OR REPLACE TEMP VIEW {CHECKED_TABLE} AS "
                f"SELECT *{''.join(', ' + lookup for lookup in lookups)} FROM {NUMBERED_ROWS}").fetchall()
    return tuple(lookup.rsplit(" AS ", 1)[1] for lookup in lookups), reporting_currency


def _checked_sql(spec, file_columns: list[str], forgiving: set[str], probes: dict, decimal_comma: bool,
                 extra: list[str], *, numbered: bool = True, source: str = MAPPED_TABLE,
                 target: str = CHECKED_ROWS) -> str:
    """CREATE ``checked_rows`` (or ``target``) AS :func:`_checked_select`."""
    select = _checked_select(spec, file_columns, forgiving, probes, decimal_comma, extra, numbered=numbered,
                             source=source)
    return f"CREATE OR REPLACE TEMP TABLE {target} AS {select}"


def _checked_select(spec, file_columns: list[str], forgiving: set[str], probes: dict, decimal_comma: bool,
                    extra: list[str], *, numbered: bool = True, source: str = MAPPED_TABLE) -> str:
    """SELECT the typed rows: inner SELECT types each column once, outer derives flags from it.

    ``numbered``: carry ``file_row`` from the text table (else rows are numbered by position later).
    """
    inner, outer = ([ROW_COLUMN], [ROW_COLUMN]) if numbered else ([], [])
    for column in spec.columns:
        if column.name not in file_columns:
            continue
        name = _quote(column.name)
        present_flag = _quote(column.name + "__present")
        if column.sql_type in TEXT_TYPES:
            inner.append(f"{typed_sql(name, column.sql_type, decimal_comma, 'month_first')} AS {name}")
            outer.append(name)
            continue
        flag = _quote(f"{column.name}_parses")
        if column.name in forgiving:
            probe = probes.get(column.name, {})
            order = _date_order(probe, decimal_comma) or "month_first"
            inner.append(f"{typed_sql(name, column.sql_type, decimal_comma, order, bool(probe.get('offsets', 1)))}"
                         f" AS {name}")
            inner.append(f"nullif(trim({name}), '') IS NOT NULL AS {present_flag}")
            outer.extend([name, f"(NOT {present_flag} OR {name} IS NOT NULL) AS {flag}"])
            continue
        cast = _fast_cast(column.name, "TIMESTAMP" if column.sql_type == "DATE" else column.sql_type)
        inner.append(f"CAST({cast} AS {column.sql_type}) AS {name}")
        inner.append(f"{name} IS NOT NULL AS {present_flag}")
        outer.extend([name, f"(NOT {present_flag} OR {name} IS NOT NULL) AS {flag}"])
        if column.sql_type in ("TIMESTAMP", "DATE"):
            inner.append(f"{has_offset_sql(name)} AS {_quote(column.name + '__offset')}")
            outer.append(_quote(column.name + "__offset"))
    return f"SELECT {', '.join(outer + extra)} FROM (SELECT {', '.join(inner)} FROM {source}) typed"


def _columns_needing_forgiving_parse(cur: duckdb.DuckDBPyConnection, columns: list, table: str) -> set[str]:
    """Plainly cast columns with unread cells or UTC offsets (offsets a plain cast would drop)."""
    if not columns:
        return set()
    checks = []
    for column in columns:
        checks.append(f"count(*) FILTER (WHERE NOT {_quote(column.name + '_parses')})")
        checks.append(f"count(*) FILTER (WHERE {_quote(column.name + '__offset')})"
                      if column.sql_type in ("TIMESTAMP", "DATE") else "0")
    values = cur.execute(f"SELECT {', '.join(checks)} FROM {table}").fetchall()[0]
    return {c.name for c, unread, offsets in zip(columns, values[0::2], values[1::2]) if unread or offsets}


def _reporting_currency(cur: duckdb.DuckDBPyConnection, has_tables: bool,
                        before_load_id: int | None = None) -> str | None:
    """Most common currency of the stored orders (of loads before ``before_load_id`` when given: the
    file's own rows may already be stored); of this file when the store holds none."""
    stored = []
    if has_tables:
        stored = cur.execute(
            "SELECT upper(currency) FROM main.orders WHERE currency IS NOT NULL AND load_id < $before "
            "GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1", {"before": before_load_id or 2 ** 62},
        ).fetchall()
    if stored:
        return stored[0][0]
    # The typed currency is the text trimmed, NULL when blank (parsing.blank_to_null).
    in_file = cur.execute(
        f"SELECT upper(currency) FROM {CHECKED_ROWS} WHERE currency IS NOT NULL "
        "GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1"
    ).fetchall()
    return in_file[0][0] if in_file else None
