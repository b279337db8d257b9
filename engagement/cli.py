"""Command line: the workbench's numbers without a browser.

    python -m engagement demo [--db PATH] [--seed N] [--customers N]
    python -m engagement report kpis [--db PATH] [--start DATE --end DATE] --format json|csv
    python -m engagement validate KIND FILE [--db PATH] [--source auto|canonical|shopify|klaviyo]
    python -m engagement ingest KIND FILE [--db PATH] [--source ...] [--on-invalid reject|quarantine]
    python -m engagement undo LOAD_ID [--db PATH]

Results go to stdout; errors go to stderr with exit code 1 (2 for usage errors).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
from datetime import date
from typing import Any, Callable

import pandas as pd

from engagement import config


class CliError(Exception):
    """A problem to report to the user in plain words (exit code 1)."""


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date; use YYYY-MM-DD") from None


def _clean(value: Any) -> Any:
    """JSON-safe scalars: NaN becomes null, numpy and Decimal values become plain numbers."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, float) and math.isnan(value):
        return None
    if value.__class__.__name__ == "Decimal":
        return float(value)
    return value


def emit(records: list[dict[str, Any]] | dict[str, Any], fmt: str, out=None) -> None:
    """Print records as JSON (a list or an object) or CSV (one row per record)."""
    from engagement.exports import to_safe_csv

    out = out or sys.stdout
    if fmt == "json":
        out.write(json.dumps(_clean(records), indent=2, default=str) + "\n")
    else:
        rows = records if isinstance(records, list) else [records]
        out.write(to_safe_csv(pd.DataFrame([_clean(r) for r in rows])))


def _open_store(args: argparse.Namespace, read_only: bool = True):
    from engagement.store import Store

    path = args.db or str(config.db_path())
    if path != ":memory:" and read_only:
        from pathlib import Path

        if not Path(path).exists():
            raise CliError(f"No database at {path}. Create one with `python -m engagement demo` or load an export.")
    try:
        return Store.open(path, read_only=read_only)
    except Exception as exc:  # duckdb raises IOException for locks and corrupt files
        raise CliError(f"Cannot open the database at {path}: {exc}") from exc


# ---------------------------------------------------------------- commands
def cmd_demo(args: argparse.Namespace) -> int:
    from engagement.ingest import ingest_demo

    store = _open_store(args, read_only=False)
    if not store.is_empty() and not args.force:
        raise CliError(f"The database at {store.path} already holds data; pass --force to add the demo to it.")
    summaries = ingest_demo(store, customers=args.customers, seed=args.seed)
    emit([s.as_dict() for s in summaries], "json")
    return 0


def cmd_report_kpis(args: argparse.Namespace) -> int:
    from engagement.filters import Filters
    from engagement.kpis import data_range, default_filters, kpis_as_records, overview_kpis

    store = _open_store(args)
    defaults = default_filters(data_range(store))
    filters = Filters(
        start=args.start or defaults.start,
        end=args.end or defaults.end,
        channels=tuple(args.channel or ()),
        segments=tuple(args.segment or ()),
    )
    records = kpis_as_records(overview_kpis(store, filters))
    if args.format == "json":
        emit({
            "start": filters.start.isoformat(), "end": filters.end.isoformat(),
            "previous_start": filters.previous_period().start.isoformat(),
            "previous_end": filters.previous_period().end.isoformat(),
            **{r["metric"]: r["value"] for r in records},
            "metrics": records,
        }, "json")
    else:
        emit(records, "csv")
    return 0


# ------------------------------------------------------------------ intake
def _print_result(result, out=None) -> None:
    emit(result.as_dict(), "json", out=out)


def cmd_validate(args: argparse.Namespace) -> int:
    """Report only: the file is checked against the database's customers but nothing is written."""
    from pathlib import Path

    from engagement.ingest import ingest_file
    from engagement.store import Store

    path = args.db or str(config.db_path())
    store = _open_store(args, read_only=True) if Path(path).exists() or path == ":memory:" else \
        Store.open(":memory:", read_only=False)
    result = ingest_file(store, args.kind, _existing_file(args.file), source=args.source,
                         on_invalid=args.on_invalid, dry_run=True)
    _print_result(result)
    if result.status != "valid":
        print(f"error: {result.message}", file=sys.stderr)
        return 1
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from engagement.ingest import ingest_file

    store = _open_store(args, read_only=False)
    result = ingest_file(store, args.kind, _existing_file(args.file), source=args.source,
                         on_invalid=args.on_invalid)
    _print_result(result)
    if result.status != "loaded":
        print(f"error: {result.message}", file=sys.stderr)
        return 1
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    store = _open_store(args, read_only=False)
    try:
        store.undo(args.load_id)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    emit({"load_id": args.load_id, "status": "undone", "table_counts": store.table_counts()}, "json")
    return 0


def _existing_file(path: str):
    from pathlib import Path

    file = Path(path)
    if not file.is_file():
        raise CliError(f"No file at {path}.")
    return file


# ------------------------------------------------------------------ parser
def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help=f"DuckDB file (default: $ENGAGEMENT_DB or {config.DEFAULT_DB_PATH})")


def _add_format(parser: argparse.ArgumentParser, choices=("json", "csv"), default="json") -> None:
    parser.add_argument("--format", choices=choices, default=default)


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", type=_date, help="first day (YYYY-MM-DD); default: 12 months before --end")
    parser.add_argument("--end", type=_date, help="last day, inclusive; default: the last order date")
    parser.add_argument("--channel", action="append", help="acquisition channel (repeat for several)")
    parser.add_argument("--segment", action="append", help="lifecycle stage (repeat for several)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="engagement", description="Engagement Workbench command line.")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="generate the demo brand and load it")
    _add_db(demo)
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--customers", type=int, default=20_000)
    demo.add_argument("--force", action="store_true", help="load even if the database holds data")
    demo.set_defaults(handler=cmd_demo)

    report = commands.add_parser("report", help="print a view's numbers")
    reports = report.add_subparsers(dest="report", required=True)

    kpis = reports.add_parser("kpis", help="the Overview KPIs with intervals and the previous period")
    _add_db(kpis)
    _add_filters(kpis)
    _add_format(kpis)
    kpis.set_defaults(handler=cmd_report_kpis)

    from engagement.ingest import ON_INVALID
    from engagement.schema import KINDS
    from engagement.sources import SOURCES

    for name, handler, help_text in (
        ("validate", cmd_validate, "check an export against its suite; loads nothing (exit 1 if it would be rejected)"),
        ("ingest", cmd_ingest, "validate an export and load it in one transaction (exit 1 when rejected)"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("kind", choices=KINDS)
        sub.add_argument("file", help="CSV, TSV, .csv.gz, Parquet or XLSX export")
        _add_db(sub)
        sub.add_argument("--source", choices=SOURCES, default="auto", help="export format (default: detect)")
        sub.add_argument("--on-invalid", choices=ON_INVALID, default="reject",
                         help="reject the file, or load valid rows and quarantine the failing ones")
        sub.set_defaults(handler=handler)

    undo = commands.add_parser("undo", help="undo one load, restoring the rows it replaced")
    undo.add_argument("load_id", type=int)
    _add_db(undo)
    undo.set_defaults(handler=cmd_undo)

    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
