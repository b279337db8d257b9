"""``sql``: one read-only query through the SQL notebook's safety rules."""

from __future__ import annotations

import argparse
import sys

from engagement.commands.common import CliError, add_db_option, database_path, add_format_option, emit, \
    frame_records


def cmd_sql(args: argparse.Namespace) -> int:
    """One read-only query through the notebook's safety layer; rows to stdout, the summary to stderr."""
    from pathlib import Path

    from engagement.exports import to_safe_csv
    from engagement.notebook.export import open_store
    from engagement.notebook.sql_safety import QueryCancelled, QueryFailed, QueryRefused, run_query

    path = database_path(args)
    if not Path(path).exists():
        raise CliError(f"No database at {path}: load an export (`python -m engagement ingest KIND FILE`), or pass "
                       "--demo to query the demo brand's database.")
    try:
        store = open_store(path, notice=lambda text: print(text, file=sys.stderr))
    except Exception as exc:  # duckdb raises IOException for corrupt files
        raise CliError(f"Cannot open the database at {path}: {exc}") from exc
    try:
        result = run_query(store, args.query, max_rows=args.max_rows, timeout_seconds=args.timeout)
    except QueryRefused as exc:
        raise CliError(f"refused: {exc}") from None
    except QueryCancelled as exc:
        raise CliError(f"cancelled: {exc}") from None
    except QueryFailed as exc:
        raise CliError(f"query failed: {exc}") from None
    finally:
        store.close()
    if args.format == "json":
        emit(frame_records(result.frame), "json")
    else:
        sys.stdout.write(to_safe_csv(result.frame))
    more = f"; more rows exist, raise --max-rows (now {args.max_rows:,})" if result.truncated else ""
    print(f"{result.summary()}{more}", file=sys.stderr)
    return 0


# argparse names these functions in its message when float()/int() fails ("invalid _positive_float value").
def _positive_float(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number of seconds")
    return number


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number")
    return number


def add_sql_parser(commands) -> None:
    sql = commands.add_parser("sql", help="run one read-only SQL query (the SQL notebook's safety rules)")
    sql.add_argument("query", help="one SELECT statement over the workbench's tables")
    add_db_option(sql)
    sql.add_argument("--timeout", type=_positive_float, default=30.0,
                     help="cancel after this many seconds (30; at most 3600)")
    sql.add_argument("--max-rows", type=_positive_int, default=10_000, help="at most this many rows (10000)")
    add_format_option(sql, default="csv")
    sql.set_defaults(handler=cmd_sql)
