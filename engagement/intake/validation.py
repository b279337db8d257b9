"""Checking an export against its Great Expectations suite, and finding the rows that fail.

Suites live in ``expectations/<kind>.json`` (GX 1.x suite JSON: ``name``, ``expectations`` of
``type``/``kwargs``/``meta``) and are read at run time: editing the JSON changes the checks.
``meta.level`` says what a failure means: ``file`` rejects the whole file, ``row`` rejects or
quarantines the failing rows, ``warning`` is reported and loads (sentinel dates such as 1970-01-01).
Bounds live in the suite: ``meta.parameters`` gives values for ``{"$PARAMETER": name}`` (ISO dates are
read as timestamps, e.g. ``earliest``); ``now`` is the clock plus a day of slack; ``<column>_long_before`` is
the column's 1st percentile in the file minus ``meta.long_before_years`` years (a date long before the rest
of the file). ``meta.description`` is the per-row reason, ``meta.fix`` what to do.

Two evaluators read the same suite:

- :func:`run_great_expectations`: GX 1.x, pandas engine, ``SUMMARY`` result format (counts only;
  ``COMPLETE`` costs seconds and gigabytes when many rows fail).
- :func:`run_sql_checks`: each expectation translated to a per-row SQL predicate in DuckDB. It always
  runs, because quarantine needs to know *which* rows failed (with their original row numbers), and
  it gives the counts for files too large for GX on pandas.

Measured on 2 cores (benchmarks/ingest_benchmark.py): GX on pandas costs about 0.4 s per expectation per
million rows (3.3 s for a timestamp range), i.e. ~26 s for a 5M-row orders file, against ~2 s for the
SQL checks. So GX runs when the file has at most ``ENGAGEMENT_GX_MAX_ROWS`` rows (default 250,000; the
rows of the file: a line-item export's lines, not the orders they fold into); its counts must equal the
SQL counts, or the file is refused (a disagreement means one of the two is wrong). Larger files are
validated by the SQL translation alone, and the report says so. ``ENGAGEMENT_VALIDATION_ENGINE=gx``
forces GX at any size.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from dateutil.relativedelta import relativedelta

import duckdb
import pandas as pd

from engagement import config
from engagement.intake.readers import ROW_COLUMN
from engagement.intake.staging import CHECKED_TABLE, LOOKUP_COLUMNS, MAPPED_TABLE, NUMBERED_ROWS
from engagement.sql import with_values

FAILURES_TABLE = "row_failures"
QUOTED_TABLE = "failing_text"  # the text of the failing rows (quote_failures)
QUOTED_ROWS = 200_000
SAMPLE_ROWS = 20
DEFAULT_GX_MAX_ROWS = 250_000
LONG_BEFORE_SUFFIX = "_long_before"
DEFAULT_LONG_BEFORE_YEARS = 10
CLOCK_SLACK = timedelta(days=1)


@dataclass(frozen=True)
class Expectation:
    """One entry of a suite: GX type and kwargs, and our meta (level, description, fix)."""

    index: int
    type: str
    kwargs: dict
    meta: dict

    @property
    def columns(self) -> tuple[str, ...]:
        if "column" in self.kwargs:
            return (self.kwargs["column"],)
        return tuple(self.kwargs.get("column_list", ()))

    @property
    def level(self) -> str:
        return self.meta.get("level", "row")

    @property
    def description(self) -> str:
        return self.meta.get("description", self.type)

    @property
    def label(self) -> str:
        condition = f" where {self.kwargs['row_condition']}" if "row_condition" in self.kwargs else ""
        return f"{self.type}({', '.join(self.columns)}){condition}"


@dataclass(frozen=True)
class Suite:
    kind: str
    name: str
    expectations: tuple[Expectation, ...]
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(e.kwargs["column"] for e in self.expectations if e.type == "expect_column_to_exist")


@dataclass(frozen=True)
class ExpectationResult:
    """The outcome of one expectation on one file."""

    expectation: str
    column: str
    description: str
    fix: str
    level: str
    success: bool
    element_count: int | None
    unexpected_count: int | None
    unexpected_percent: float | None
    engine: str
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (
            "expectation", "column", "description", "fix", "level", "success", "element_count",
            "unexpected_count", "unexpected_percent", "engine", "note")}


@dataclass(frozen=True)
class ValidationReport:
    """Every expectation's result, the failing rows (a sample with reasons) and how it was run."""

    kind: str
    rows: int
    engine: str
    results: tuple[ExpectationResult, ...]
    failing_row_count: int
    sample_failures: pd.DataFrame = field(compare=False, hash=False)
    seconds: float = 0.0

    @property
    def file_errors(self) -> tuple[ExpectationResult, ...]:
        return tuple(r for r in self.results if not r.success and r.level == "file")

    @property
    def row_errors(self) -> tuple[ExpectationResult, ...]:
        return tuple(r for r in self.results if not r.success and r.level == "row")

    @property
    def warnings(self) -> tuple[ExpectationResult, ...]:
        return tuple(r for r in self.results if not r.success and r.level == "warning")

    @property
    def success(self) -> bool:
        """Every check passes (warnings are reported, never refuse a row)."""
        return all(r.success or r.level == "warning" for r in self.results)

    def results_frame(self) -> pd.DataFrame:
        return pd.DataFrame([r.as_dict() for r in self.results])

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "rows": self.rows, "engine": self.engine, "success": self.success,
            "failing_rows": self.failing_row_count, "seconds": round(self.seconds, 3),
            "expectations": [r.as_dict() for r in self.results],
        }


# ------------------------------------------------------------------ suites
def suite_path(kind: str) -> Path:
    return config.EXPECTATIONS_DIR / f"{kind}.json"


def load_suite(kind: str, path: Path | None = None) -> Suite:
    """Read ``expectations/<kind>.json``."""
    raw = json.loads((path or suite_path(kind)).read_text(encoding="utf-8"))
    expectations = tuple(
        Expectation(i, e["type"], dict(e.get("kwargs", {})), dict(e.get("meta", {})))
        for i, e in enumerate(raw["expectations"])
    )
    return Suite(kind=kind, name=raw.get("name", kind), expectations=expectations, meta=dict(raw.get("meta", {})))


def _suite_value(value: Any) -> Any:
    """An ISO date in a suite's parameters is a timestamp (a list of them: a list of timestamps)."""
    if isinstance(value, list):
        return [_suite_value(v) for v in value]
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def run_parameters(now: datetime | None = None, suite: Suite | None = None) -> dict[str, Any]:
    """Values for ``{"$PARAMETER": ...}`` in suites: ``now`` (plus one day of clock slack) and the suite's own
    ``meta.parameters`` (``earliest``, ``sentinel_dates``: bounds are edited in the JSON, not here)."""
    now = now or datetime.now(timezone.utc).replace(tzinfo=None)
    parameters: dict[str, Any] = {"now": now + CLOCK_SLACK}
    if suite is not None:
        parameters.update({k: _suite_value(v) for k, v in suite.meta.get("parameters", {}).items()})
    return parameters


def _parameter_names(value: Any) -> list[str]:
    return [value["$PARAMETER"]] if isinstance(value, dict) and "$PARAMETER" in value else []


def file_parameters(suite: Suite, parameters: dict[str, Any],
                    first_percentile: Callable[[str], datetime | None]) -> dict[str, Any]:
    """``parameters`` completed with the suite's own and ``<column>_long_before``: the column's 1st percentile
    in this file (``first_percentile(column)``, None when empty or absent) minus ``long_before_years`` years,
    so a date far before the rest of the file (a typo, a default value) is flagged."""
    years = int(suite.meta.get("long_before_years", DEFAULT_LONG_BEFORE_YEARS))
    found = {**run_parameters(suite=suite), **parameters}
    for e in suite.expectations:
        for name in _parameter_names(e.kwargs.get("min_value")):
            if not name.endswith(LONG_BEFORE_SUFFIX) or name in found:
                continue
            value = first_percentile(name.removesuffix(LONG_BEFORE_SUFFIX))
            found[name] = value - relativedelta(years=years) if value is not None else found.get("earliest")
    return found


def long_before_columns(suite: Suite) -> tuple[str, ...]:
    """The columns whose 1st percentile :func:`file_parameters` asks for (the suite's long-before bounds)."""
    return tuple(dict.fromkeys(
        name.removesuffix(LONG_BEFORE_SUFFIX) for e in suite.expectations
        for name in _parameter_names(e.kwargs.get("min_value")) if name.endswith(LONG_BEFORE_SUFFIX)))


def _sql_first_percentile(cur: duckdb.DuckDBPyConnection, columns: tuple[str, ...],
                          measured: dict[str, Any] | None = None) -> Callable[[str], Any]:
    """The 1st percentile of a column of ``checked_input``: ``measured`` when the staging pass computed it."""
    def first(column: str) -> datetime | None:
        if column not in columns:
            return None
        if measured and column in measured:
            return measured[column]
        value = cur.execute(f"SELECT CAST(quantile_disc({_quote(column)}, 0.01) AS TIMESTAMP) "
                            f"FROM {CHECKED_TABLE}").fetchall()[0][0]
        return value
    return first


def _resolve(value: Any, parameters: dict[str, Any]) -> Any:
    if isinstance(value, dict) and "$PARAMETER" in value:
        return parameters[value["$PARAMETER"]]
    return value


def choose_engine(rows: int) -> str:
    """``great_expectations`` for files GX on pandas handles in a few seconds, else ``duckdb``."""
    forced = os.environ.get("ENGAGEMENT_VALIDATION_ENGINE", "auto").strip().lower()
    if forced in ("gx", "great_expectations"):
        return "great_expectations"
    if forced == "duckdb":
        return "duckdb"
    limit = int(os.environ.get("ENGAGEMENT_GX_MAX_ROWS", DEFAULT_GX_MAX_ROWS))
    return "great_expectations" if rows <= limit else "duckdb"


# ---------------------------------------------------------- SQL evaluator
def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


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
    return f"{_quote(column.strip())} = ${tag}_cond"


def _failure_sql(e: Expectation, params: dict[str, Any], parameters: dict[str, Any]) -> str | None:
    """SQL that is true on the rows failing a column-map expectation (None: not a row-level type)."""
    tag = f"e{e.index}"
    when = _condition_sql(e, params, tag)
    if e.type == "expect_column_values_to_not_be_null":
        return f"({when} AND {_quote(e.columns[0])} IS NULL)"
    column = _quote(e.columns[0]) if e.columns else None
    if e.type == "expect_column_values_to_be_in_set":
        params[f"{tag}_set"] = list(_resolve(e.kwargs["value_set"], parameters))
        return f"({when} AND {column} IS NOT NULL AND NOT list_contains(${tag}_set, {column}))"
    if e.type == "expect_column_values_to_not_be_in_set":
        params[f"{tag}_set"] = list(_resolve(e.kwargs["value_set"], parameters))
        return f"({when} AND {column} IS NOT NULL AND list_contains(${tag}_set, {column}))"
    if e.type == "expect_column_values_to_be_between":
        tests = []
        for bound, op, strict_op, strict in (("min_value", "<", "<=", "strict_min"), ("max_value", ">", ">=", "strict_max")):
            if e.kwargs.get(bound) is not None and _resolve(e.kwargs[bound], parameters) is not None:
                params[f"{tag}_{bound}"] = _resolve(e.kwargs[bound], parameters)
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
    cols = ", ".join(_quote(c) for c in e.columns)
    some_key = " OR ".join(f"{_quote(c)} IS NOT NULL" for c in e.columns)
    # Keys are file columns: read them without the lookups' joins (a join is computed even when unused).
    source = CHECKED_TABLE if set(e.columns) & set(LOOKUP_COLUMNS) else NUMBERED_ROWS
    if cur.execute(f"SELECT count(*) = count(DISTINCT hash({cols})) FROM {source} WHERE {some_key}"
                   ).fetchall()[0][0]:
        return "false"
    duplicated = f"SELECT {cols} FROM {source} WHERE {some_key} GROUP BY ALL HAVING count(*) > 1"
    scratch.append(table)
    if not cur.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {duplicated}").fetchall()[0][0]:
        return "false"
    match = " AND ".join(f"d.{_quote(c)} IS NOT DISTINCT FROM {CHECKED_TABLE}.{_quote(c)}" for c in e.columns)
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
        return "count(*) FILTER (WHERE NOT (" + " AND ".join(f"{_quote(c)} IS NULL" for c in e.columns) + "))"
    return f"count({_quote(e.columns[0])}){within}"


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
    parameters = file_parameters(suite, parameters, _sql_first_percentile(cur, checked_columns))
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
                                                 note="not applicable: the file has no such column")
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


# ----------------------------------------------------------- GX evaluator
def run_great_expectations(frame: pd.DataFrame, suite: Suite,
                           parameters: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Run the suite with GX 1.x on pandas; {expectation index: success/counts}. Missing columns skipped."""
    import logging

    import great_expectations as gx

    def first_percentile(column: str) -> datetime | None:
        if column not in frame.columns or frame[column].notna().sum() == 0:
            return None
        return pd.Timestamp(frame[column].dropna().quantile(0.01, interpolation="lower")).to_pydatetime()

    parameters = file_parameters(suite, parameters, first_percentile)
    frame = _nanosecond_timestamps(frame)
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    applicable = [e for e in suite.expectations
                  if e.type == "expect_table_row_count_to_be_between" or all(c in frame.columns for c in e.columns)]
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (
        context.data_sources.add_pandas("intake").add_dataframe_asset(suite.kind)
        .add_batch_definition_whole_dataframe("whole_file")
    )
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    with warnings.catch_warnings():
        # GX 1.9+ deprecates string row conditions in favour of Condition objects, which its suite JSON
        # cannot express as readably; the string form is still supported throughout 1.x. It warns when the
        # suite is built and again when it runs.
        warnings.filterwarnings("ignore", message=".*row_condition.*|.*condition_parser.*")
        gx_suite = gx.ExpectationSuite(name=suite.name, expectations=[
            {"type": e.type, "kwargs": e.kwargs, "meta": {**e.meta, "index": e.index}} for e in applicable
        ])
        outcome = batch.validate(gx_suite, result_format="SUMMARY", expectation_parameters=parameters)
    return {result.expectation_config.meta["index"]: expectation_outcome(result) for result in outcome.results}


def expectation_outcome(result: Any) -> dict[str, Any]:
    """One GX ``ExpectationValidationResult`` as the row both validators report (pandas here, Spark in
    ``spark_validation.py``): success, counts, observed value and whether the check itself raised."""
    return {
        "success": bool(result.success),
        "unexpected_count": result.result.get("unexpected_count"),
        "element_count": result.result.get("element_count"),
        "observed_value": result.result.get("observed_value"),
        "raised": bool(result.exception_info.get("raised_exception")) if result.exception_info else False,
    }


def _nanosecond_timestamps(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamp columns in nanoseconds where every value fits (1677-2262): GX compares datetime64[ns] columns
    with its bounds in one vectorised step and any other resolution (DuckDB gives microseconds) one value at a
    time in Python (measured on Online Retail's 25,900 orders: 0.94 s of the 1.6 s GX took, for two columns)."""
    low, high = pd.Timestamp.min, pd.Timestamp.max
    converted = {}
    for column in frame.columns:
        dtype = frame[column].dtype
        if not pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_datetime64_ns_dtype(dtype):
            continue
        values = frame[column].dropna()
        tz = getattr(dtype, "tz", None)
        bounds = (low.tz_localize(tz), high.tz_localize(tz)) if tz is not None else (low, high)
        if values.empty or (values.min() >= bounds[0] and values.max() <= bounds[1]):
            converted[column] = frame[column].astype(f"datetime64[ns, {tz}]" if tz is not None else "datetime64[ns]")
    return frame.assign(**converted) if converted else frame


def _merge(sql_results: list[ExpectationResult], gx_results: dict[int, dict[str, Any]],
           suite: Suite) -> list[ExpectationResult]:
    """GX decides pass/fail; its counts must match the SQL counts, else the expectation fails."""
    merged = []
    for e, sql in zip(suite.expectations, sql_results):
        gx_result = gx_results.get(e.index)
        if gx_result is None or sql.note.startswith("not applicable"):
            merged.append(sql)
            continue
        gx_count = gx_result["unexpected_count"]
        agree = (gx_result["success"] == sql.success
                 and (gx_count is None or sql.unexpected_count is None or int(gx_count) == sql.unexpected_count))
        note = sql.note
        if gx_result["raised"]:
            agree, note = False, "GX raised an error on this expectation"
        elif not agree:
            note = (f"GX and the row checks disagree (GX: success={gx_result['success']}, unexpected={gx_count}; "
                    f"rows: {sql.unexpected_count}); the file is refused until this is resolved")
        merged.append(ExpectationResult(
            sql.expectation, sql.column, sql.description, sql.fix, "file" if not agree else sql.level,
            gx_result["success"] and agree, sql.element_count,
            int(gx_count) if gx_count is not None else sql.unexpected_count, sql.unexpected_percent,
            "great_expectations", note,
        ))
    return merged


def validate_checked(cur: duckdb.DuckDBPyConnection, suite: Suite, checked_columns: tuple[str, ...],
                     provided_columns: tuple[str, ...], rows: int, engine: str | None = None,
                     now: datetime | None = None, read_text: Callable[[], None] | None = None,
                     locate_failures: bool = True, enforced: frozenset[int] = frozenset(),
                     first_percentiles: dict[str, Any] | None = None) -> ValidationReport:
    """Validate the staged ``checked_input`` with ``suite``; leaves ``row_failures`` on ``cur``.

    ``first_percentiles``: {column: 1st percentile} the staging pass measured (see :func:`long_before_columns`).

    ``read_text`` (see ``staging.stage``) is called before failing rows are quoted from the file's text.
    ``locate_failures=False`` (the one-pass load, which starts over on any failure) only counts: no failing
    rows are listed or quoted, and ``failing_row_count`` is > 0 exactly when some row fails.
    """
    import time

    started = time.perf_counter()
    parameters = file_parameters(suite, run_parameters(now, suite),
                                 _sql_first_percentile(cur, checked_columns, first_percentiles))
    engine = engine or choose_engine(rows)
    results, failing = run_sql_checks(cur, suite, checked_columns, provided_columns, rows, parameters,
                                      locate_failures=locate_failures, enforced=enforced)
    if engine == "great_expectations":
        columns = ", ".join(_quote(c) for c in checked_columns)
        frame = cur.execute(f"SELECT {columns} FROM {CHECKED_TABLE}").df()
        results = _merge(results, run_great_expectations(frame, suite, parameters), suite)
        del frame
    if failing and read_text is not None:
        read_text()
    # Without failures, an empty frame of the same columns: the text (maybe still the file) is not read.
    quoted = failing and locate_failures
    if quoted:
        quote_failures(cur)
    sample = failing_rows(cur, limit=SAMPLE_ROWS if quoted else 0, source=QUOTED_TABLE if quoted else MAPPED_TABLE)
    return ValidationReport(
        kind=suite.kind, rows=rows, engine=engine, results=tuple(results), failing_row_count=failing,
        sample_failures=sample, seconds=time.perf_counter() - started,
    )


def quote_failures(cur: duckdb.DuckDBPyConnection) -> None:
    """CREATE ``failing_text``: the mapped text rows (``file_row`` included) of the failing rows, read once.

    The sample of the report, the failing rows of the result and the quarantine's JSON all quote these rows;
    each joined the failures to the whole text table before (on a 5M-row orders file with 100 failing rows:
    three scans of 5M text rows, 0.34 CPU s each). At most QUOTED_ROWS rows: as many as a load may
    quarantine (a file with more is rejected) or a result lists (``one_file.FAILING_ROWS_LIMIT``).
    """
    cap = max(QUOTED_ROWS, config.max_quarantine_rows())
    cur.execute(f"CREATE OR REPLACE TEMP TABLE {QUOTED_TABLE} AS SELECT * FROM {MAPPED_TABLE} WHERE {ROW_COLUMN} IN "
                f"(SELECT {ROW_COLUMN} FROM {FAILURES_TABLE} ORDER BY {ROW_COLUMN} LIMIT {int(cap)})").fetchall()


def failing_rows(cur: duckdb.DuckDBPyConnection, limit: int | None = None,
                 source: str = MAPPED_TABLE) -> pd.DataFrame:
    """Failing rows as the file had them (mapped text columns), with reason and original row number.

    ``source``: the text rows, ``failing_text`` once :func:`quote_failures` has kept those of the failures."""
    limit_sql = "" if limit is None else " LIMIT $limit"
    return cur.execute(
        f"SELECT f.{ROW_COLUMN} AS row_number, f.reason, m.* EXCLUDE ({ROW_COLUMN}) "
        f"FROM {FAILURES_TABLE} f JOIN {source} m USING ({ROW_COLUMN}) ORDER BY f.{ROW_COLUMN}{limit_sql}",
        {"limit": limit} if limit is not None else {},
    ).df()
