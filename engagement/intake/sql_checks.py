"""The SQL evaluator of a suite: each expectation translated to a per-row predicate over the staged file in
DuckDB (``checked_input``). It always runs, because quarantine needs to know *which* rows failed (with their
original row numbers), and it gives the counts for files too large for Great Expectations on pandas."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

import duckdb

from engagement.intake.readers import ROW_COLUMN
from engagement.intake.staging import CHECKED_TABLE, LOOKUP_COLUMNS, NUMBERED_ROWS
from engagement.intake.suites import (
    NOT_APPLICABLE, Expectation, ExpectationResult, Suite, file_parameters, resolve_parameter,
)
from engagement.sql import quote_identifier, with_values

FAILURES_TABLE = "row_failures"


def first_percentile_sql(cur: duckdb.DuckDBPyConnection, columns: tuple[str, ...],
                          measured: dict[str, Any] | None = None) -> Callable[[str], Any]:
    """The 1st percentile of a column of ``checked_input``: ``measured`` when the staging pass computed it."""
    def first(column: str) -> datetime | None:
        if column not in columns:
            return None
        if measured and column in measured:
            return measured[column]
        value = cur.execute(f"SELECT CAST(quantile_disc({quote_identifier(column)}, 0.01) AS TIMESTAMP) "
                            f"FROM {CHECKED_TABLE}").fetchall()[0][0]
        return value
    return first


def _bound(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters a statement uses (DuckDB refuses unused ones)."""
    import re

    return {name: params[name] for name in set(re.findall(r"\$(\w+)", sql)) if name in params}


def _condition_sql(expectation: Expectation, params: dict[str, Any], tag: str) -> str:
    """The pandas row_condition we support: ``column=="value"`` (what the suites use)."""
    condition = expectation.kwargs.get("row_condition")
    if not condition:
        return "true"
    column, _, value = condition.partition("==")
    params[f"{tag}_cond"] = value.strip().strip('"').strip("'")
    return f"{quote_identifier(column.strip())} = ${tag}_cond"


def _failure_sql(e: Expectation, params: dict[str, Any], parameters: dict[str, Any]) -> str | None:
    """SQL that is true on the rows failing a column-map expectation (None: not a row-level type)."""
    tag = f"e{e.index}"
    when = _condition_sql(e, params, tag)
    if e.type == "expect_column_values_to_not_be_null":
        return f"({when} AND {quote_identifier(e.columns[0])} IS NULL)"
    column = quote_identifier(e.columns[0]) if e.columns else None
    if e.type == "expect_column_values_to_be_in_set":
        params[f"{tag}_set"] = list(resolve_parameter(e.kwargs["value_set"], parameters))
        return f"({when} AND {column} IS NOT NULL AND NOT list_contains(${tag}_set, {column}))"
    if e.type == "expect_column_values_to_not_be_in_set":
        params[f"{tag}_set"] = list(resolve_parameter(e.kwargs["value_set"], parameters))
        return f"({when} AND {column} IS NOT NULL AND list_contains(${tag}_set, {column}))"
    if e.type == "expect_column_values_to_be_between":
        tests = []
        for bound, op, strict_op, strict in (("min_value", "<", "<=", "strict_min"), ("max_value", ">", ">=", "strict_max")):
            if e.kwargs.get(bound) is not None and resolve_parameter(e.kwargs[bound], parameters) is not None:
                params[f"{tag}_{bound}"] = resolve_parameter(e.kwargs[bound], parameters)
                tests.append(f"{column} {strict_op if e.kwargs.get(strict) else op} ${tag}_{bound}")
        return f"({when} AND {column} IS NOT NULL AND ({' OR '.join(tests) or 'false'}))"
    if e.type in ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"):
        return "__unique__"  # resolved by _unique_failure_sql (needs a query first)
    if e.type == "expect_column_values_to_match_regex":
        params[f"{tag}_regex"] = e.kwargs["regex"]
        return f"({when} AND {column} IS NOT NULL AND NOT regexp_matches({column}, ${tag}_regex))"
    return None


def _unique_failure_sql(cur: duckdb.DuckDBPyConnection, e: Expectation, scratch: list[str]) -> str:
    """Rows whose key occurs more than once. A first look counts the keys' distinct 64-bit hashes: when there
    are as many as keys, no key repeats (equal keys hash alike) and the predicate is the constant false, the
    usual case. Otherwise the duplicated keys are kept in a table (its name added to ``scratch``; a hash
    collision alone leaves it empty: false again) and rows matched to them.

    Measured on 5M stored order ids (2 cores): the distinct hashes cost 0.61 CPU s, grouping the text keys
    0.69-1.02 s (a hash table of fixed-size values instead of strings)."""
    table = f"dup_keys_{e.index}"
    cols = ", ".join(quote_identifier(c) for c in e.columns)
    some_key = " OR ".join(f"{quote_identifier(c)} IS NOT NULL" for c in e.columns)
    # Keys are file columns: read them without the lookups' joins (a join is computed even when unused).
    source = CHECKED_TABLE if set(e.columns) & set(LOOKUP_COLUMNS) else NUMBERED_ROWS
    if cur.execute(f"SELECT count(*) = count(DISTINCT hash({cols})) FROM {source} WHERE {some_key}"
                   ).fetchall()[0][0]:
        return "false"
    duplicated = f"SELECT {cols} FROM {source} WHERE {some_key} GROUP BY ALL HAVING count(*) > 1"
    scratch.append(table)
    if not cur.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {duplicated}").fetchall()[0][0]:
        return "false"
    match = " AND ".join(f"d.{quote_identifier(c)} IS NOT DISTINCT FROM {CHECKED_TABLE}.{quote_identifier(c)}" for c in e.columns)
    return f"(({some_key}) AND EXISTS (SELECT 1 FROM {table} d WHERE {match}))"


ROW_CHECK_TYPES = ("expect_column_values_to_not_be_null", "expect_column_values_to_be_in_set",
                   "expect_column_values_to_not_be_in_set",
                   "expect_column_values_to_be_between", "expect_column_values_to_match_regex")


def row_failure_sql(suite: Suite, columns: tuple[str, ...],
                    parameters: dict[str, Any]) -> tuple[str | None, frozenset[int]]:
    """SQL that is true on a row failing any row-level check that reads only ``columns`` of the row itself
    (no lookup, no other row), with every value written in as a literal (a view cannot bind parameters), and
    the indices of those expectations. The one-pass load raises on such a row while writing it, so a file with
    failing rows stops at the first one instead of after every row is written.
    """
    params: dict[str, Any] = {}
    failures, indices = [], []
    for e in suite.expectations:
        condition = e.kwargs.get("row_condition")
        read = set(e.columns) | ({condition.partition("==")[0].strip()} if condition else set())
        if e.level != "row" or e.type not in ROW_CHECK_TYPES or not read <= set(columns):
            continue
        failures.append(_failure_sql(e, params, parameters))
        indices.append(e.index)
    if not failures:
        return None, frozenset()
    return with_values(" OR ".join(failures), params), frozenset(indices)


def _denominator_sql(e: Expectation, params: dict[str, Any]) -> str:
    """GX's unexpected_percent base: non-null values (all rows for not_null), within the row condition."""
    when = _condition_sql(e, params, f"e{e.index}")
    # No FILTER without a row condition: each FILTER clause is its own pass over the rows (Online Retail's 14
    # checks: ~0.3 ms of CPU per load).
    within = "" if when == "true" else f" FILTER (WHERE {when})"
    if e.type == "expect_column_values_to_not_be_null":
        return f"count(*){within}"
    if e.type == "expect_compound_columns_to_be_unique":
        return "count(*) FILTER (WHERE NOT (" + " AND ".join(f"{quote_identifier(c)} IS NULL" for c in e.columns) + "))"
    return f"count({quote_identifier(e.columns[0])}){within}"


def run_sql_checks(cur: duckdb.DuckDBPyConnection, suite: Suite, checked_columns: tuple[str, ...],
                   provided_columns: tuple[str, ...], rows: int,
                   parameters: dict[str, Any], locate_failures: bool = True,
                   enforced: frozenset[int] = frozenset()) -> tuple[list[ExpectationResult], int]:
    """Evaluate ``suite`` on ``checked_input``; write ``row_failures`` (file_row, reason). Returns results.

    ``locate_failures=False`` counts only: ``row_failures`` stays empty and the second number is the sum of
    the expectations' failure counts (> 0 exactly when a row fails), not the number of failing rows.
    ``enforced``: expectations no row can fail, because writing a failing row raised (the one-pass load, see
    :func:`row_failure_sql`) or because the rows are made so (a fold's order keys are unique,
    ``StagedInput.unique``); their failures are not evaluated again (counted 0), their bases are.
    """
    parameters = file_parameters(suite, parameters, first_percentile_sql(cur, checked_columns))
    results: dict[int, ExpectationResult] = {}
    row_checks: list[tuple[Expectation, str, str]] = []
    params: dict[str, Any] = {}
    scratch: list[str] = []  # the uniqueness checks' tables of duplicated keys
    located = 0  # rows written to row_failures (its CREATE ... AS returns the count)
    for e in suite.expectations:
        fix = e.meta.get("fix", "")
        if e.type == "expect_column_to_exist":
            ok = e.columns[0] in provided_columns
            results[e.index] = ExpectationResult(e.label, e.columns[0], e.description, fix, e.level, ok,
                                                 None, None, None, "duckdb")
        elif e.type == "expect_table_row_count_to_be_between":
            low, high = e.kwargs.get("min_value"), e.kwargs.get("max_value")
            ok = (low is None or rows >= low) and (high is None or rows <= high)
            results[e.index] = ExpectationResult(e.label, "", e.description, fix, e.level, ok, rows, None, None,
                                                 "duckdb", note=f"{rows:,} rows")
        elif any(c not in checked_columns for c in e.columns):
            results[e.index] = ExpectationResult(e.label, ", ".join(e.columns), e.description, fix, e.level, True,
                                                 None, None, None, "duckdb",
                                                 note=NOT_APPLICABLE)
        else:
            failure = "false" if e.index in enforced else _failure_sql(e, params, parameters)
            if failure == "__unique__":
                failure = _unique_failure_sql(cur, e, scratch)
            if failure is None:
                raise ValueError(f"{suite.name}: expectation type {e.type} is not supported by the row checks.")
            row_checks.append((e, failure, _denominator_sql(e, params)))

    if row_checks:
        # Pass 1: counts and bases in one aggregate (windows for uniqueness inside), each failure counted where it
        # is written and each distinct aggregate once (Online Retail's 14 checks: 28 aggregates of which 22 differ,
        # five bases are count(*)): 3.7 ms of CPU instead of 4.7 ms with flag columns in a subquery, every base again.
        # count_if, not count(*) FILTER (WHERE f): the same count (a NULL flag counts in neither), about 1.3 ms
        # less CPU on Online Retail's 25,900 orders (a FILTER clause per aggregate costs a selection each).
        wanted = [aggregate for _, failure, base in row_checks for aggregate in (f"count_if({failure})", base)]
        distinct = list(dict.fromkeys(wanted))
        # The values written in as literals, as row_failure_sql writes them for the one-pass load: bound as
        # parameters, the statement is prepared first (Online Retail's 14 checks: ~0.001 s of its ~0.006 s of CPU).
        counts_sql = with_values(f"SELECT {', '.join(distinct)} FROM {CHECKED_TABLE}", params)
        found = dict(zip(distinct, cur.execute(counts_sql).fetchall()[0]))
        values = [found[aggregate] for aggregate in wanted]
        counts, denominators = values[0::2], values[1::2]
        # Pass 2, only when something failed: the failing rows with their reasons.
        if any(counts) and not locate_failures:
            cur.execute(f"CREATE OR REPLACE TEMP TABLE {FAILURES_TABLE} (file_row BIGINT, reason VARCHAR)").fetchall()
        elif any(count for (e, _, _), count in zip(row_checks, counts) if e.level != "warning"):
            # Warnings are counted, never located: their rows load. A check no row failed is false on every row:
            # only the failed ones are evaluated again.
            refusing = [check for check, count in zip(row_checks, counts) if check[0].level != "warning" and count]
            reasons = {f"r{e.index}": e.description for e, _, _ in refusing}
            any_failed = " OR ".join(f"f{e.index}" for e, _, _ in refusing)
            reason_sql = "concat_ws('; ', " + ", ".join(
                f"CASE WHEN f{e.index} THEN $r{e.index} END" for e, _, _ in refusing) + ")"
            failed = f"SELECT *, {', '.join(f'{failure} AS f{e.index}' for e, failure, _ in refusing)} FROM {CHECKED_TABLE}"
            failures_sql = (f"CREATE OR REPLACE TEMP TABLE {FAILURES_TABLE} AS SELECT {ROW_COLUMN}, "
                            f"{reason_sql} AS reason FROM ({failed}) flagged WHERE {any_failed} ORDER BY {ROW_COLUMN}")
            located = cur.execute(failures_sql, _bound(failures_sql, {**params, **reasons})).fetchall()[0][0]
        else:
            cur.execute(f"CREATE OR REPLACE TEMP TABLE {FAILURES_TABLE} (file_row BIGINT, reason VARCHAR)").fetchall()
        for (e, _, _), count, base in zip(row_checks, counts, denominators):
            results[e.index] = ExpectationResult(
                e.label, ", ".join(e.columns), e.description, e.meta.get("fix", ""), e.level, count == 0,
                int(base), int(count), (100.0 * count / base) if base else 0.0, "duckdb",
            )
    else:
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {FAILURES_TABLE} (file_row BIGINT, reason VARCHAR)").fetchall()
    for table in scratch:
        cur.execute(f"DROP TABLE IF EXISTS {table}").fetchall()
    ordered = [results[i] for i in sorted(results)]
    if not locate_failures:
        return ordered, sum(r.unexpected_count or 0 for r in ordered if r.level == "row")
    return ordered, located
