"""Command line: the workbench's numbers without a browser.

    python -m engagement demo [--db PATH] [--seed N] [--customers N]
    python -m engagement report kpis [--db PATH] [--start DATE --end DATE] --format json|csv
    python -m engagement report engagement [--threshold 10] [--weights orders=3,...] --format json|csv
    python -m engagement report roi [--margin 0.4] [--method auto|holdout|observational] --format json|csv

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


# ---------------------------------------------------------- engagement / ROI
def _weights(raw: str | None):
    """``orders=3,referrals=5`` -> EngagementWeights (unnamed behaviours keep their default)."""
    from dataclasses import fields

    from engagement.engagement_score import EngagementWeights

    if not raw:
        return EngagementWeights()
    known = {f.name for f in fields(EngagementWeights)}
    values = {}
    for part in raw.split(","):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in known:
            raise CliError(f"Unknown behaviour {name!r} in --weights; use {', '.join(sorted(known))}.")
        try:
            values[name] = float(value)
        except ValueError:
            raise CliError(f"The weight of {name} must be a number, not {value!r}.") from None
    try:
        return EngagementWeights(**values)
    except ValueError as exc:
        raise CliError(str(exc)) from exc


def _filters_from_args(store, args: argparse.Namespace):
    from engagement.filters import Filters
    from engagement.kpis import data_range, default_filters

    defaults = default_filters(data_range(store))
    try:
        return Filters(start=args.start or defaults.start, end=args.end or defaults.end,
                       channels=tuple(args.channel or ()), segments=tuple(args.segment or ()))
    except ValueError as exc:
        raise CliError(str(exc)) from exc


def cmd_report_engagement(args: argparse.Namespace) -> int:
    from engagement.engagement_score import channel_engagement, comparisons_as_records, engagement_view

    store = _open_store(args)
    filters = _filters_from_args(store, args)
    weights = _weights(args.weights)
    view = engagement_view(store, filters, weights, args.threshold)
    records = comparisons_as_records(view)
    if args.format == "json":
        channels = channel_engagement(store, filters, args.conversion_days)
        emit({
            "start": filters.start.isoformat(), "end": filters.end.isoformat(),
            "weights": weights.params(), "threshold": args.threshold,
            "customers": view.customers, "engaged_customers": view.engaged_customers,
            "comparisons": records,
            "score_components": view.components.drop(columns=["population"]).to_dict("records"),
            "channels": channels.to_dict("records"),
        }, "json")
    else:
        emit(records, "csv")
    return 0


def cmd_report_roi(args: argparse.Namespace) -> int:
    from engagement.roi import RoiInputError, report_as_record, roi_report

    if not 0 < args.margin <= 1:
        raise CliError(f"--margin is a fraction between 0 and 1 (0.4 = 40 %), not {args.margin}.")
    store = _open_store(args)
    filters = _filters_from_args(store, args)
    try:
        report = roi_report(
            store, filters, margin=args.margin, method=args.method, experiment_id=args.experiment,
            outcome_days=args.outcome_days, post_days=args.post_days, programme=args.programme,
            typed_cost=args.cost, weights=_weights(args.weights), threshold=args.threshold,
        )
    except RoiInputError as exc:
        raise CliError(str(exc)) from exc
    emit(report_as_record(report), args.format)
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

    # engagement / ROI
    engagement = reports.add_parser("engagement", help="engaged vs unengaged customers, score make-up, channels")
    _add_db(engagement)
    _add_filters(engagement)
    _add_format(engagement)
    _add_engagement_definition(engagement)
    engagement.add_argument("--conversion-days", type=int, default=7,
                            help="a click converts when a purchase follows within this many days (default 7)")
    engagement.set_defaults(handler=cmd_report_engagement)

    roi = reports.add_parser("roi", help="return on engagement spending, with its interval and method")
    _add_db(roi)
    _add_filters(roi)
    _add_format(roi)
    _add_engagement_definition(roi)
    roi.add_argument("--margin", type=float, default=0.4, help="gross margin as a fraction (default 0.4)")
    roi.add_argument("--method", choices=("auto", "holdout", "observational"), default="auto",
                     help="auto: a holdout when an experiment has a clean control arm, else observational")
    roi.add_argument("--experiment", help="experiment id for the holdout method (default: the latest clean one)")
    roi.add_argument("--outcome-days", type=int, default=30, help="holdout: revenue counted this many days from assignment")
    roi.add_argument("--post-days", type=int, default=90,
                     help="observational: the last N days of the period are the outcome period (default 90)")
    roi.add_argument("--programme", help="programme in program_costs to charge (default: all programmes)")
    roi.add_argument("--cost", type=float, help="a typed-in cost instead of the loaded program_costs")
    roi.set_defaults(handler=cmd_report_roi)

    return parser


def _add_engagement_definition(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threshold", type=float, default=10.0, help="engaged when the score reaches this (default 10)")
    parser.add_argument("--weights", help="points per behaviour, e.g. orders=3,email_clicks=1,referrals=5")


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
