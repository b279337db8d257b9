"""Checking an export against its Great Expectations suite (:mod:`engagement.intake.suites`), and finding the rows
that fail.

What a suite holds and what its levels mean: :mod:`engagement.intake.suites`. Two evaluators read the same suite:

- ``gx_checks.run_great_expectations``: GX 1.x, pandas engine, ``SUMMARY`` result format (counts only;
  ``COMPLETE`` costs seconds and gigabytes when many rows fail).
- ``sql_checks.run_sql_checks``: each expectation translated to a per-row SQL predicate in DuckDB. It always
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

import os
from datetime import datetime
from typing import Any, Callable

import duckdb
import pandas as pd

from engagement import config
from engagement.intake import gx_checks, sql_checks, suites
from engagement.intake.readers import ROW_COLUMN
from engagement.intake.staging import CHECKED_TABLE, MAPPED_TABLE
from engagement.intake.suites import Suite, ValidationReport
from engagement.sql import quote_identifier

QUOTED_TABLE = "failing_text"  # the text of the failing rows (quote_failures)
QUOTED_ROWS = 200_000
SAMPLE_ROWS = 20
DEFAULT_GX_MAX_ROWS = 250_000


def choose_engine(rows: int) -> str:
    """``great_expectations`` for files GX on pandas handles in a few seconds, else ``duckdb``."""
    forced = os.environ.get("ENGAGEMENT_VALIDATION_ENGINE", "auto").strip().lower()
    if forced in ("gx", "great_expectations"):
        return "great_expectations"
    if forced == "duckdb":
        return "duckdb"
    limit = int(os.environ.get("ENGAGEMENT_GX_MAX_ROWS", DEFAULT_GX_MAX_ROWS))
    return "great_expectations" if rows <= limit else "duckdb"


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
    parameters = suites.file_parameters(suite, suites.run_parameters(now, suite),
                                 sql_checks.first_percentile_sql(cur, checked_columns, first_percentiles))
    engine = engine or choose_engine(rows)
    results, failing = sql_checks.run_sql_checks(cur, suite, checked_columns, provided_columns, rows, parameters,
                                      locate_failures=locate_failures, enforced=enforced)
    if engine == "great_expectations":
        columns = ", ".join(quote_identifier(c) for c in checked_columns)
        frame = cur.execute(f"SELECT {columns} FROM {CHECKED_TABLE}").df()
        results = gx_checks.merge_with_sql_counts(results, gx_checks.run_great_expectations(frame, suite, parameters), suite)
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
    """CREATE ``failing_text``: the failing rows as the report, the result and the quarantine quote them, read
    once: ``row_number``, ``reason``, the mapped text columns and ``row_json`` (the mapped row, ``file_row``
    included, as the quarantine keeps it).

    Each reader joined the failures to the whole text table before (on a 5M-row orders file with 100 failing
    rows: three scans of 5M text rows, 0.34 CPU s each), then to the quoted rows (Online Retail's 2 failing
    orders: two joins and the JSON written at the load, 1.5-2 ms of CPU). At most QUOTED_ROWS rows: as many as a
    load may quarantine (a file with more is rejected) or a result lists (``one_file.FAILING_ROWS_LIMIT``).
    """
    cap = max(QUOTED_ROWS, config.max_quarantine_rows())
    cur.execute(
        f"CREATE OR REPLACE TEMP TABLE {QUOTED_TABLE} AS SELECT f.{ROW_COLUMN} AS row_number, f.reason, "
        f"m.* EXCLUDE ({ROW_COLUMN}), CAST(to_json(m) AS VARCHAR) AS row_json "
        f"FROM (SELECT * FROM {sql_checks.FAILURES_TABLE} ORDER BY {ROW_COLUMN} LIMIT {int(cap)}) f "
        f"JOIN {MAPPED_TABLE} m USING ({ROW_COLUMN}) ORDER BY f.{ROW_COLUMN}").fetchall()


def failing_rows(cur: duckdb.DuckDBPyConnection, limit: int | None = None,
                 source: str = MAPPED_TABLE) -> pd.DataFrame:
    """Failing rows as the file had them (mapped text columns), with reason and original row number.

    ``source``: the text rows, or ``failing_text`` once :func:`quote_failures` has quoted the failures."""
    limit_sql = "" if limit is None else " LIMIT $limit"
    parameters = {"limit": limit} if limit is not None else {}
    if source == QUOTED_TABLE:  # the limit written in: a bound parameter prepares the statement first (0.2 ms)
        limit_sql = "" if limit is None else f" LIMIT {int(limit)}"
        return cur.execute(f"SELECT * EXCLUDE (row_json) FROM {QUOTED_TABLE} ORDER BY row_number{limit_sql}").df()
    return cur.execute(
        f"SELECT f.{ROW_COLUMN} AS row_number, f.reason, m.* EXCLUDE ({ROW_COLUMN}) "
        f"FROM {sql_checks.FAILURES_TABLE} f JOIN {source} m USING ({ROW_COLUMN}) ORDER BY f.{ROW_COLUMN}{limit_sql}",
        parameters,
    ).df()
