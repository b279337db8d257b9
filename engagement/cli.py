"""Command line: the workbench's numbers without a browser.

    python -m engagement demo [--db PATH] [--seed N] [--customers N]
    python -m engagement report kpis [--db PATH] [--start DATE --end DATE] --format json|csv
    python -m engagement validate KIND FILE [--db PATH] [--source auto|canonical|shopify|klaviyo]
    python -m engagement ingest KIND FILE [--db PATH] [--source ...] [--on-invalid reject|quarantine]
    python -m engagement undo LOAD_ID [--db PATH]
    python -m engagement sql "QUERY" [--db PATH] [--timeout SECONDS] [--max-rows N] [--format csv|json]
    python -m engagement abtest FILE --variant-col COL --control NAME --metrics m1,m2 [--covariate COL]
        [--correction holm|bh|none] --format json|csv
    python -m engagement report experiment EXPERIMENT_ID [--window-days 30] --format json|csv

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
# ------------------------------------------------------------ SQL notebook
def cmd_sql(args: argparse.Namespace) -> int:
    """One read-only query through the notebook's safety layer; rows to stdout, the summary to stderr."""
    from pathlib import Path

    from engagement.exports import to_safe_csv
    from engagement.notebook_export import open_store
    from engagement.sql_safety import QueryCancelled, QueryFailed, QueryRefused, harden_process, run_query

    path = args.db or str(config.db_path())
    if not Path(path).exists():
        raise CliError(f"No database at {path}. Create one with `python -m engagement demo` or load an export.")
    try:
        store = open_store(path, notice=lambda text: print(text, file=sys.stderr))
    except Exception as exc:  # duckdb raises IOException for corrupt files
        raise CliError(f"Cannot open the database at {path}: {exc}") from exc
    harden_process(store)
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
        emit(result.frame.to_dict("records"), "json")
    else:
        sys.stdout.write(to_safe_csv(result.frame))
    more = f"; more rows exist, raise --max-rows (now {args.max_rows:,})" if result.truncated else ""
    print(f"{result.summary()}{more}", file=sys.stderr)
    return 0


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


# ------------------------------------------------------------ experiments
def _analysis_options(args: argparse.Namespace):
    from engagement.experiment_inputs import parse_split
    from engagement.experiments import AnalysisOptions

    return AnalysisOptions(
        control=args.control, correction=args.correction, alpha=args.alpha, use_cuped=not args.no_cuped,
        sequential=args.sequential, planned_n_per_arm=args.planned_n, intended_split=parse_split(args.split or ""),
    )


def _emit_analysis(analysis, fmt: str) -> None:
    from engagement.experiments import analysis_summary, result_records

    if fmt == "json":
        emit(analysis_summary(analysis), "json")
    else:
        emit(result_records(analysis) + result_records(analysis, segments=True), "csv")


def cmd_abtest(args: argparse.Namespace) -> int:
    from engagement.experiment_inputs import read_unit_file, unit_file_analysis
    from engagement.experiments import ExperimentInputError

    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    try:
        frame = read_unit_file(args.file)
        analysis = unit_file_analysis(frame, args.variant_col, metrics, _analysis_options(args),
                                      covariate=args.covariate, segment_column=args.segment_col,
                                      name=str(args.file))
    except ExperimentInputError as exc:
        raise CliError(str(exc)) from None
    _emit_analysis(analysis, args.format)
    return 0


def cmd_report_experiment(args: argparse.Namespace) -> int:
    from engagement.experiments import ExperimentInputError, ExperimentQuery, experiment_analysis, experiment_ids

    store = _open_store(args)
    known = experiment_ids(store)
    if args.experiment_id not in known:
        raise CliError(f"No experiment {args.experiment_id!r}; loaded experiments: {', '.join(known) or 'none'}.")
    try:
        query = ExperimentQuery(args.experiment_id, window_days=args.window_days, segment_by=args.segment_by,
                                event_type=args.event_type, options=_analysis_options(args))
        analysis = experiment_analysis(store, query)
    except ExperimentInputError as exc:
        raise CliError(str(exc)) from None
    _emit_analysis(analysis, args.format)
    return 0


def _add_analysis_options(parser: argparse.ArgumentParser, control_required: bool) -> None:
    parser.add_argument("--control", required=control_required,
                        help="the control variant" + ("" if control_required else " (default: 'control')"))
    parser.add_argument("--correction", choices=("holm", "bh", "none"), default="holm",
                        help="multiple-testing correction across variants x metrics (default holm)")
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    parser.add_argument("--split", help="intended split, e.g. control=50,treatment=50 (default: equal)")
    parser.add_argument("--no-cuped", action="store_true", help="do not adjust for the covariate")
    parser.add_argument("--sequential", action="store_true", help="always-valid intervals and p-values")
    parser.add_argument("--planned-n", type=int, help="planned units per arm (warns when read earlier)")


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
    sql = commands.add_parser("sql", help="run one read-only SQL query (the SQL notebook's safety rules)")
    sql.add_argument("query", help="one SELECT statement over the workbench's tables")
    _add_db(sql)
    sql.add_argument("--timeout", type=_positive_float, default=30.0, help="cancel after this many seconds (30)")
    sql.add_argument("--max-rows", type=_positive_int, default=10_000, help="at most this many rows (10000)")
    _add_format(sql, default="csv")
    sql.set_defaults(handler=cmd_sql)

    experiment = reports.add_parser("experiment", help="an A/B test on loaded assignments: SRM, lifts, verdicts")
    experiment.add_argument("experiment_id")
    _add_db(experiment)
    experiment.add_argument("--window-days", type=int, default=30, help="days after assignment (default 30)")
    experiment.add_argument("--segment-by", choices=("none", "lifecycle_stage", "acquisition_channel"),
                            default="none", help="also break results down by this segment")
    experiment.add_argument("--event-type", help="add the share of customers with this event type as a metric")
    _add_analysis_options(experiment, control_required=False)
    _add_format(experiment)
    experiment.set_defaults(handler=cmd_report_experiment)

    abtest = commands.add_parser("abtest", help="A/B test a per-unit results file (CSV, CSV.gz or Parquet)")
    abtest.add_argument("file")
    abtest.add_argument("--variant-col", required=True, help="column holding each unit's variant")
    abtest.add_argument("--metrics", required=True, help="comma-separated metric columns (0/1 columns are rates)")
    abtest.add_argument("--covariate", help="pre-period column for CUPED")
    abtest.add_argument("--segment-col", help="column to break results down by")
    _add_analysis_options(abtest, control_required=True)
    _add_format(abtest)
    abtest.set_defaults(handler=cmd_abtest)

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
