"""The file's text for plans that fold or filter rows: read once, then written once as ``folded_input``.

A row-preserving plan types the rows straight from the file (``staging.stage``); a plan that folds rows into
orders (line items, Shopify) or filters them (Klaviyo) needs each row's number first, to point at an order's
first line and to take the first non-blank value of an order-level field. Its output is written once into the
temporary table ``folded_input``, which every later step reads (the float-id check, typing, failing rows and
quarantine): a view would fold the whole file again for each (measured on Online Retail's 541,909 lines: 8
folds, ~0.3 s each).

A fold of typed (Parquet) columns whose text would be typed back without a forgiving parse
(``SourcePlan.typed_fold``) is typed in the same statement instead: :func:`stage_typed` writes ``checked_rows``
itself, and ``mapped_input`` is a view giving back, from the typed rows, the text the text path would show. A
line-item CSV is tried that way first (:func:`stage_typed_csv`: its line numbers read as DOUBLE by DuckDB's CSV
reader), and takes the text path when a value would not read plainly.
"""

from __future__ import annotations

import dataclasses
from contextlib import nullcontext

import duckdb

from engagement.intake import float_written_ids, readers, staging, suites
from engagement.intake.parsing import OFFSET_PATTERN, blank_to_null
from engagement.intake.readers import ROW_COLUMN, ReadInfo
from engagement.intake.source_plan import SourcePlan
from engagement.warehouse.schema import TABLES

FOLDED_TABLE = "folded_input"


class FileText:
    """The text table of a lazily opened file (``readers.read_into(defer_text=True)``), read once when needed."""

    def __init__(self, cur: duckdb.DuckDBPyConnection, info: ReadInfo, file_name: str,
                 columns: tuple[str, ...] | None = None):
        # Only the columns the mapping reads are copied (see SourcePlan.read_columns).
        self.cur, self.info, self.file_name = cur, readers.only_columns(info, columns), file_name
        self.columns = columns

    @property
    def deferred(self) -> bool:
        return self.info.deferred_select is not None

    def __call__(self) -> None:
        self.info = readers.read_text(self.cur, self.info, self.file_name)


def write_folded(cur: duckdb.DuckDBPyConnection, kind: str, plan: SourcePlan,
                 text: FileText) -> SourcePlan:
    """Write the plan's output into ``folded_input``; the plan reading it (float ids read as integers).

    A fold that counts its lines (``SourcePlan.counts_lines``) reads a lazily opened file where it is, its rows
    numbered as they are read (``readers.number_in_place``), and the file's rows are the sum of the lines it
    folded; any other plan reads the numbered text table first. ``text.info`` then holds the file's row count.
    """
    in_place = plan.counts_lines and text.deferred and readers.number_in_place(cur, text.info, text.columns)
    if not in_place:
        text()
    # Read from the file itself: a CSV error surfaces in this query.
    with readers.unreadable_text_rejected(text.file_name, text.info.delimiter, text.info) if in_place else nullcontext():
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {FOLDED_TABLE} AS {plan.select_sql}").fetchall()
    if plan.counts_lines:
        lines = cur.execute(f"SELECT coalesce(sum(line_count), 0) FROM {FOLDED_TABLE}").fetchall()[0][0]
        cur.execute(f"ALTER TABLE {FOLDED_TABLE} DROP COLUMN line_count").fetchall()
        if in_place:
            text.info = dataclasses.replace(text.info, rows=int(lines), deferred_select=None, deferred_reader=None)
    return float_written_ids.integer_ids(cur, kind, dataclasses.replace(plan, select_sql=f"SELECT * FROM {FOLDED_TABLE}"))


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


UNREADABLE_TABLE = "unreadable_lines"
# A DOUBLE is written as digits and ".0" (17850.0) exactly when it is whole and below 1e16 in magnitude (above,
# DuckDB writes 1e+16): what the float-id check's regular expression matches in its text, without the text.
FLOAT_DIGITS_BELOW = "1e16"
# Below 1e13 a DOUBLE rounded to cents is cast to DECIMAL(18,2) as its text would be read (its text has at most
# 15 significant digits, which identify it); above, through the text, as the text path does.
EXACT_CENTS_BELOW = "1e13"


def stage_typed(cur: duckdb.DuckDBPyConnection, kind: str, plan: SourcePlan,
                strict_customers: bool = False, count_lines: bool = False, float_ids: tuple[str, ...] = (),
                suite: suites.Suite | None = None) -> tuple[staging.StagedInput, SourcePlan, int | None] | None:
    """Fold, read float-written ids as integers and type the orders in one statement writing ``checked_rows``:
    the values, flags, failing rows and notes of :func:`write_folded` then ``staging.stage`` on the same file, in
    one write instead of two.

    Each column is typed as the text path types the text its fold writes (``SourcePlan.fold_typing``): text as
    ``staging`` types text (``blank_to_null``, the float-id check and fix of ``float_written_ids.integer_ids``); the
    order's time kept as the TIMESTAMP it was stored as (its text cast back is the same value, so it always
    parses); net revenue cast from the DOUBLE its text is written from (the same DECIMAL, see
    EXACT_CENTS_BELOW), NULL when a line was unreadable; an id stored as DOUBLE checked and fixed from the
    number (see FLOAT_DIGITS_BELOW). ``mapped_input``, the text failing rows and quarantine quote, is a view
    over ``checked_rows`` giving back the text path's text: the value where they are the same, else the text
    kept beside it (``<column>__text``, NULL on nearly every row), and the first unreadable line of an order
    from ``unreadable_lines``, written only when there is one.
    ``suite``: the kind's suite when the caller has read it (it is read once per load); else read here.

    An order time kept as text ("text_timestamp", a CSV's) is typed by staging's plain cast; when an order's time
    needs more (a cell the cast cannot read, a UTC offset: staging's forgiving second pass), None is returned
    before anything is changed, and the caller takes the text path. ``count_lines``: the third value is the
    number of lines folded (the file's rows), else None. ``float_ids``: text id columns whose first value is a
    whole number written as a float (a CSV's first row): written as the float fix makes them, in the statement
    (an UPDATE after it cost 7 ms of CPU on Online Retail's CSV, and the implied customers counted again 2.6 ms);
    None is returned when some value is not such a float (the text path then checks and keeps them as they are).

    Measured on Online Retail's 541,909 lines (25,900 orders; CPU, median of 11, one run): the text path's fold,
    folded table, float-id check and typing pass cost 0.106 s; this statement and its views 0.073 s; DuckDB's bare
    aggregation of the same orders into a table 0.051 s (benchmarks/online_retail_benchmark.py).
    """
    spec = TABLES[kind]
    sql_types = {c.name: c.sql_type for c in spec.columns}
    typing = dict(plan.fold_typing)
    columns = list(typing)
    # Float-written ids are checked in the look below, not by a second read of the folded orders in this statement
    # (3.5 ms of its ~56 ms on Online Retail): a DOUBLE id is written as its integer text wherever it is whole (the
    # fix the check then keeps, or undoes when some id is not whole); a text id is fixed after the look, in the
    # rare file whose every id is a float.
    fixes, checks = [], []  # checks: (column, how) of the id columns, in the look's order
    wholes = []  # a DOUBLE id's "written as integer text" flag, kept for the look (see below)
    for column in float_written_ids.id_columns(kind, columns):
        name = _quote(column)
        if typing[column] == "double_id":
            # -0.0 is written -0.0, whose integer text is -0 (not 0): that one value is fixed from its text
            whole = f"{name} = trunc({name}) AND abs({name}) < {FLOAT_DIGITS_BELOW}"
            fixes.append(f"CASE WHEN {whole} THEN CASE WHEN "
                         f"{name} = 0 THEN {float_written_ids.integer_text_sql(f'CAST({name} AS VARCHAR)')} ELSE "
                         f"CAST(CAST({name} AS BIGINT) AS VARCHAR) END ELSE CAST({name} AS VARCHAR) END AS {name}")
            # Written as integer text exactly when whole and below 1e16 (any other DOUBLE's text has a point, an
            # exponent, nan or inf): the look counts this flag instead of searching the written text three times
            # (1.5 ms of CPU on Online Retail's 25,900 orders).
            wholes.append(f"{whole} AS {_quote(column + '__whole')}")
        elif typing[column] != "text":
            continue  # "same": an integer's text, never a float
        checks.append((column, typing[column]))
    typed, kept, texts = [], [], []
    # Flags that are a constant or a test of the typed value: computed by the view the checks read
    # (staging.checked_views), not written with every order (the two cost about 1 ms of CPU on Online Retail's
    # 25,900 orders: 53.5 against 54.7 ms for the statement, medians of 11 alternating runs).
    view_flags = []
    read_value = None  # the net revenue's DOUBLE, NULL when a line of the order was unreadable
    for column in columns:
        name, text, value = _quote(column), _quote(column + "__text"), _quote(column + "__typed")
        how = typing[column]
        if how == "text" and column in float_ids:  # as float_written_ids.integer_ids then staging make them
            integer, is_float = _quote(column + "__integer"), _quote(column + "__float")
            trimmed = blank_to_null(name)
            typed.extend([f"{float_written_ids.integer_text_sql(name)} AS {integer}",
                          f"{blank_to_null(float_written_ids.integer_text_sql(name))} AS {value}",
                          f"{trimmed} IS NULL OR {float_written_ids.float_id_sql(trimmed)} AS {is_float}"])
            kept.extend([f"{value} AS {name}",
                         f"CASE WHEN {integer} IS DISTINCT FROM {value} THEN {integer} END AS {text}", is_float])
            texts.append(f"coalesce(c.{text}, c.{name}) AS {name}")
        elif how == "text":
            typed.append(f"{blank_to_null(name)} AS {value}")
            kept.extend([f"{value} AS {name}", f"CASE WHEN {name} IS DISTINCT FROM {value} THEN {name} END AS {text}"])
            texts.append(f"coalesce(c.{text}, c.{name}) AS {name}")
        elif how in ("same", "double_id"):
            kept.append(name)
            if how == "double_id" and column in dict(checks):
                kept.append(_quote(column + "__whole"))
            texts.append(f"c.{name}")
        elif how == "timestamp":
            kept.append(name)
            view_flags.append(f"true AS {_quote(column + '_parses')}")
            texts.append(f"CAST(c.{name} AS VARCHAR) AS {name}")
        elif how == "text_timestamp":  # as staging's plain pass types the folded text (staging._checked_select)
            typed.append(f"CAST(try_cast({name} AS TIMESTAMP) AS TIMESTAMP) AS {value}")
            parses = f"({name} IS NULL OR {value} IS NOT NULL) AS {_quote(column + '_parses')}"
            kept.extend([f"{value} AS {name}", parses, f"{name} AS {text}"])
            texts.append(f"c.{text} AS {name}")
        elif how == "money":
            money = sql_types[column]
            typed.append(f"CASE WHEN lines_ok THEN CASE WHEN abs({name}) < {EXACT_CENTS_BELOW} THEN try_cast({name} AS "
                         f"{money}) ELSE try_cast(CAST({name} AS VARCHAR) AS {money}) END END AS {value}")
            # The DOUBLE the text path writes, NULL exactly when a line of the order was unreadable (every line read,
            # the amount is a total or a sum of products, never NULL): one column says both, one fewer written per
            # order than with a flag beside it.
            kept.extend([f"{value} AS {name}", f"CASE WHEN lines_ok THEN {name} END AS {_quote(column + '__value')}"])
            view_flags.append(f"{name} IS NOT NULL AS {_quote(column + '_parses')}")  # the typed value
            read_value = column + "__value"
            read = f"{_quote(read_value)} IS NOT NULL"
            # u.line: the first unreadable line of the order (joined below when there is one)
            texts.append(f"CASE WHEN c.{read} THEN CAST(c.{_quote(column + '__value')} AS VARCHAR) "
                         f"ELSE 'unreadable line item: ' || u.line END AS {name}")
        else:
            raise ValueError(f"{column}: no typing {how!r}")
    if count_lines:
        kept.append("line_count")
    fixed = f"SELECT * REPLACE ({', '.join(fixes)}), {', '.join(wholes)} FROM folded" if fixes else \
        "SELECT * FROM folded"
    rows = cur.execute(f"""
CREATE OR REPLACE TEMP TABLE {staging.CHECKED_ROWS} AS
WITH folded AS ({plan.typed_fold}),
typed AS (SELECT *, {', '.join(typed)} FROM ({fixed}))
SELECT {ROW_COLUMN}, {', '.join(kept)} FROM typed""").fetchall()[0][0]
    # The keys of the fold's groups are unique; typed, they stay so unless trimming or the float fix changed one.
    keys = [c for c in spec.key if typing.get(c) == "text"]
    # The same aggregate measures what validation and the load's notes would each query again: the 1st percentile
    # of the suite's long-before columns and the implied-customers counts (each query costs ~0.001-0.003 s of CPU,
    # most of it planning, on Online Retail's 25,900 orders).
    percentiles = [c for c in suites.long_before_columns(suite or suites.load_suite(kind)) if c in columns]
    activity = ["count(DISTINCT customer_id) FILTER (WHERE customer_id NOT IN (SELECT customer_id FROM main.customers))",
                "count_if(customer_id IS NULL)"] if "customer_id" in columns and kind != "customers" else []
    # A text id: every value a whole number written as a float (float_written_ids.all_floats_sql; the typed text is the folded
    # text trimmed, NULL when blank, so it is read as it is). A DOUBLE id: its values, and those written as integer
    # text (no point, exponent, nan or inf): all of them exactly when every value is whole and below 1e16.
    integer_text = "NOT (contains({0}, '.') OR contains({0}, 'e') OR contains({0}, 'n'))"
    float_looks = [f"(count({_quote(c)}) > 0 AND count(*) FILTER (WHERE NOT {_quote(c + '__float')}) = 0)"
                   if c in float_ids else float_written_ids.all_floats_sql(c, trimmed=True) if how == "text" else
                   f"count({_quote(c)}), count_if({_quote(c + '__whole')})"
                   for c, how in checks]
    # Times staging's plain pass would leave to its forgiving pass (unread, or with a UTC offset), and the lines.
    forgiven = [f"count_if(NOT {_quote(c + '_parses')} OR regexp_matches({_quote(c + '__text')}, "
                f"'{OFFSET_PATTERN}'))" for c in columns if typing[c] == "text_timestamp"]
    looks = ([f"count_if({_quote(read_value)} IS NULL)" if read_value else "0", f"{'sum(line_count)' if count_lines else 'NULL'}"]
             + forgiven + float_looks
             + [f"count({_quote(c + '__text')})" for c in keys]
             + [f"CAST(quantile_disc({_quote(c)}, 0.01) AS TIMESTAMP)" for c in percentiles] + activity)
    unread, line_total, *found = cur.execute(f"SELECT {', '.join(looks)} FROM {staging.CHECKED_ROWS}").fetchall()[0]
    if any(found[:len(forgiven)]):
        return None
    found = found[len(forgiven):]
    fixed_ids, undone, at = [], [], 0
    for column, how in checks:
        if how == "text":
            if found[at]:
                fixed_ids.append(column)
            elif column in float_ids:
                return None  # fixed in the statement, but not every id is a float: the text path
            at += 1
        else:
            values, as_integers = found[at], found[at + 1]
            if values and values == as_integers:
                fixed_ids.append(column)
            elif as_integers:
                undone.append(column)
            at += 2
    changed_keys, measured = found[at:at + len(keys)], found[at + len(keys):]
    first_percentiles, counted = tuple(zip(percentiles, measured)), measured[len(percentiles):]
    for column in undone:  # some id is not whole: every id is kept as the DOUBLE's text (17850.0)
        name = _quote(column)
        cur.execute(f"UPDATE {staging.CHECKED_ROWS} SET {name} = {name} || '.0' "
                    f"WHERE {integer_text.format(name)}").fetchall()
    for column in (c for c in fixed_ids if typing[c] == "text" and c not in float_ids):  # as the float fix makes it
        name, text = _quote(column), _quote(column + "__text")
        integer = float_written_ids.integer_text_sql(f"coalesce({text}, {name})")  # the folded text's integer text
        cur.execute(f"UPDATE {staging.CHECKED_ROWS} SET {name} = {blank_to_null(integer)}, {text} = CASE WHEN "
                    f"{integer} IS DISTINCT FROM {blank_to_null(integer)} THEN {integer} END").fetchall()
    if undone or any(typing[c] == "text" and c not in float_ids for c in fixed_ids):
        activity = []  # measured on ids changed since: ingest counts them again
    if unread:
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {UNREADABLE_TABLE} AS {plan.unreadable_lines}").fetchall()
    lines = (f"LEFT JOIN {UNREADABLE_TABLE} AS u ON u.{ROW_COLUMN} = c.{ROW_COLUMN}" if unread
             else "CROSS JOIN (SELECT NULL::VARCHAR AS line) AS u")  # every line read: u.line is never reached
    cur.execute(f"CREATE OR REPLACE TEMP VIEW {staging.MAPPED_TABLE} AS SELECT {', '.join(texts)}, c.{ROW_COLUMN} "
                f"FROM {staging.CHECKED_ROWS} AS c {lines}").fetchall()
    computed, reporting_currency = staging.checked_views(cur, kind, columns, True, True,
                                                         strict_customers=strict_customers, flags=view_flags)
    if fixed_ids:
        plan = dataclasses.replace(plan, notes=plan.notes + (float_written_ids.float_ids_note(fixed_ids),))
    staged = staging.StagedInput(
        kind, int(rows), tuple(c for c in spec.column_names if c in columns),
        tuple(f"{c.name}_parses" for c in spec.columns if c.name in columns and c.sql_type != "VARCHAR"),
        computed, (), reporting_currency,
        unique=tuple(c for c, changed in zip(keys, changed_keys) if not changed and c not in fixed_ids),
        first_percentiles=first_percentiles, activity=(int(counted[0]), int(counted[1])) if activity else None)
    return staged, plan, None if line_total is None else int(line_total)


def stage_typed_csv(cur: duckdb.DuckDBPyConnection, kind: str, plan: SourcePlan, text: FileText,
                    strict_customers: bool = False, suite: suites.Suite | None = None
                    ) -> tuple[staging.StagedInput, SourcePlan] | None:
    """:func:`stage_typed` for a line-item fold of a lazily opened CSV (``SourcePlan.typed_csv``): the line numbers
    read as DOUBLE by DuckDB's CSV reader, the rest as text, numbered as read (as ``readers.number_in_place``).
    ``text.info`` then holds the file's row count (the lines folded).

    None, with nothing written that the text path keeps, when the typed read would not give the text path's
    values: the first data row's numbers or time do not read plainly (a file of decimal commas, currency
    symbols, slash dates or UTC offsets: the text path at once), or any later cell the reader's DOUBLE cannot
    read (it raises; an accepted number is the DOUBLE the text path's cast gives, checked on edge cases in
    tests/test_typed_fold.py) or any order time staging's plain cast cannot. The caller then takes the text path,
    which refuses, quarantines and quotes such values as always; the typed read was wasted.
    """
    info = text.info
    typed = plan.typed_csv
    if (typed is None or info.reader_options is None or info.first_row is None
            or any(c.strip().lower() == "ordinality" for c in info.columns)):
        return None
    first = dict(zip(info.columns, info.first_row))
    probes = [f"$n{i} IS NULL OR try_cast($n{i} AS DOUBLE) IS NOT NULL" for i, _ in enumerate(plan.csv_types)]
    values = {f"n{i}": first.get(column) for i, (column, _) in enumerate(plan.csv_types)}
    probes.append(f"$t IS NULL OR (try_cast($t AS TIMESTAMP) IS NOT NULL "
                  f"AND NOT regexp_matches($t, '{OFFSET_PATTERN}'))")
    values["t"] = first.get(plan.csv_time)
    ids = [(column, first.get(header)) for column, header in plan.csv_ids]
    floats = [f"coalesce({float_written_ids.float_id_sql(f'trim($i{i})')}, false)" for i, _ in enumerate(ids)]
    values.update({f"i{i}": value for i, (_, value) in enumerate(ids)})
    readable = " AND ".join(f"({probe})" for probe in probes)
    readable, *first_floats = cur.execute(f"SELECT {', '.join([readable] + floats)}", values).fetchall()[0]
    if not readable:
        return None
    reader = readers.typed_reader(info.reader_options, info.columns, dict(plan.csv_types))
    selected = ", ".join(_quote(c) for c in typed.read_columns or info.columns)
    cur.execute(f"CREATE OR REPLACE TEMP VIEW {readers.TYPED_TABLE} AS SELECT {selected}, "
                f"CAST(ordinality + 1 AS BIGINT) AS {ROW_COLUMN} FROM {reader} WITH ORDINALITY").fetchall()
    try:
        float_ids = tuple(column for (column, _), first_float in zip(ids, first_floats) if first_float)
        done = stage_typed(cur, kind, typed, strict_customers=strict_customers, count_lines=True, float_ids=float_ids,
                           suite=suite)
    except duckdb.Error:  # a value the typed reader cannot read (or a malformed file: the text path says why)
        return None
    if done is None:
        return None
    staged, typed_plan, lines = done
    text.info = dataclasses.replace(info, rows=lines, deferred_select=None, deferred_reader=None, reader_options=None,
                                    first_row=None)
    return staged, typed_plan
