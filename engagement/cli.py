"""Command line: the workbench's numbers without a browser.

    python -m engagement demo [--db PATH] [--seed N] [--customers N]
    python -m engagement report kpis [--db PATH] [--start DATE --end DATE] --format json|csv
    python -m engagement report clv [--calibration-end DATE] [--unit day|week] [--horizon-days N] --format json

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


# ------------------------------------------------------------ RFM and CLV
def cmd_report_clv(args: argparse.Namespace) -> int:
    from engagement.clv import clv_as_record, fit_clv

    store = _open_store(args)
    try:
        result = fit_clv(store, calibration_end=args.calibration_end, unit=args.unit, horizon_days=args.horizon_days,
                         channels=tuple(args.channel or ()), segments=tuple(args.segment or ()))
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    emit(clv_as_record(result), args.format)
    return 0


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

    clv = reports.add_parser("clv", help="BG/NBD + Gamma-Gamma fit (r, alpha, a, b; p, q, gamma), holdout check "
                                         "and CLV forecast")
    _add_db(clv)
    clv.add_argument("--calibration-end", type=_date,
                     help="last day of the calibration period (default: the end of the data minus at most 26 weeks)")
    clv.add_argument("--unit", choices=("day", "week"), default="week", help="time unit of recency, T and alpha")
    clv.add_argument("--horizon-days", type=int, default=90, help="forecast horizon in days (default 90)")
    clv.add_argument("--channel", action="append", help="acquisition channel (repeat for several)")
    clv.add_argument("--segment", action="append", help="lifecycle stage (repeat for several)")
    _add_format(clv, choices=("json",))
    clv.set_defaults(handler=cmd_report_clv)

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
