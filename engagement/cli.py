"""Command line: the workbench's numbers without a browser.

    python -m engagement demo [--db PATH] [--seed N] [--customers N]
    python -m engagement report kpis [--db PATH] [--start DATE --end DATE] --format json|csv
    python -m engagement report cohorts [--grain month|week|quarter] [--metric customers|revenue|ltv]
        [--split none|channel|discount] --format json|csv
    python -m engagement report lifecycle [--at-risk-days N --lapsed-days N --vip-top-share X] --format json|csv
    python -m engagement report clv [--calibration-end DATE] [--unit day|week] [--horizon-days N] --format json
    python -m engagement report engagement [--threshold 10] [--weights orders=3,...] --format json|csv
    python -m engagement report roi [--margin 0.4] [--method auto|holdout|observational] --format json|csv

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


# ------------------------------------------------------------- NPS and CSAT
def cmd_report_survey(args: argparse.Namespace) -> int:
    """NPS (or CSAT) per group of --by, each with n and its 95 % interval."""
    from engagement.csat import CSAT_SCALE
    from engagement.nps import NPS_SCALE, SMALL_GROUP_MIN, breakdown_records, survey_breakdown

    scale = NPS_SCALE if args.report == "nps" else CSAT_SCALE
    store = _open_store(args)
    filters = _filters_from_args(store, args)
    records = breakdown_records(survey_breakdown(store, filters, scale, args.by), scale)
    if args.format == "csv":
        emit(records, "csv")
    else:
        emit({
            "survey": scale.kind, "by": args.by, "start": filters.start.isoformat(), "end": filters.end.isoformat(),
            "channels": list(filters.channels), "segments": list(filters.segments),
            "interval_method": scale.interval_method, "confidence": 0.95, "small_group_min": SMALL_GROUP_MIN,
            "groups": records,
        }, "json")
    return 0


def cmd_report_survey_outcomes(args: argparse.Namespace) -> int:
    """Repurchase, churn and revenue in the N days after the answer, per answer category, with 95 % CIs."""
    from engagement.csat import CSAT_SCALE
    from engagement.nps import NPS_SCALE, behaviour_after_answer, behaviour_verdict

    scale = NPS_SCALE if args.report.startswith("nps") else CSAT_SCALE
    if args.days < 1:
        raise CliError("--days must be at least 1.")
    store = _open_store(args)
    filters = _filters_from_args(store, args)
    link = behaviour_after_answer(store, filters, scale, args.days)
    records = link.frame().to_dict("records")
    if args.format == "csv":
        emit(records, "csv")
    else:
        rep, rev = link.repurchase_difference, link.revenue_difference
        emit({
            "survey": scale.kind, "days": args.days, "start": filters.start.isoformat(),
            "end": filters.end.isoformat(), "unit": "each customer's first answer in the period",
            "censored": link.censored, "groups": records,
            "repurchase_difference": {"between": [rep.label_a, rep.label_b], "points": rep.difference,
                                      "ci_low": rep.ci_low, "ci_high": rep.ci_high, "p_value": rep.p_value,
                                      "method": rep.method},
            "revenue_difference": {"between": [rev.label_a, rev.label_b], "dollars": rev.difference,
                                   "ci_low": rev.ci_low, "ci_high": rev.ci_high, "p_value": rev.p_value,
                                   "method": rev.method},
            "verdict": behaviour_verdict(link),
        }, "json")
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


# ------------------------------------------------------ shared: the view filters from the command line
def _filters_from_args(store, args: argparse.Namespace):
    from engagement.filters import Filters
    from engagement.kpis import data_range, default_filters

    defaults = default_filters(data_range(store))
    try:
        return Filters(start=args.start or defaults.start, end=args.end or defaults.end,
                       channels=tuple(args.channel or ()), segments=tuple(args.segment or ()))
    except ValueError as exc:
        raise CliError(str(exc)) from None


# ---------------------------------------------------------------- retention: cohorts and lifecycle
def cmd_report_cohorts(args: argparse.Namespace) -> int:
    from engagement.cohorts import METRICS, cohort_records, retention_matrix

    store = _open_store(args)
    filters = _filters_from_args(store, args)
    matrix = retention_matrix(store, filters, grain=args.grain, split=args.split)
    records = cohort_records(matrix, args.metric)
    if args.format == "json":
        column, label, unit, definition = METRICS[args.metric]
        emit({
            "grain": args.grain, "metric": args.metric, "split": args.split, "label": label, "unit": unit,
            "definition": definition, "start": filters.start.isoformat(), "end": filters.end.isoformat(),
            "as_of": str(matrix.as_of) if matrix.as_of else None,
            "note": "cohort 'all' is the cohort-size-weighted average over mature cells; immature cells are null",
            "cells": records,
        }, "json")
    else:
        from engagement.exports import to_safe_csv

        # convert_dtypes keeps whole counts whole next to the blank (immature) cells.
        sys.stdout.write(to_safe_csv(pd.DataFrame([_clean(r) for r in records]).convert_dtypes()))
    return 0


def cmd_report_lifecycle(args: argparse.Namespace) -> int:
    from engagement.lifecycle import (
        StageThresholds, current_stages, default_thresholds, purchase_funnel, stage_definitions,
        time_to_second_purchase,
    )

    store = _open_store(args)
    filters = _filters_from_args(store, args)
    defaults = default_thresholds(store)
    try:
        thresholds = StageThresholds(
            at_risk_days=args.at_risk_days or defaults.thresholds.at_risk_days,
            lapsed_days=args.lapsed_days or defaults.thresholds.lapsed_days,
            vip_top_share=args.vip_top_share,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    definitions = stage_definitions(thresholds)
    stages = [
        {"stage": row.lifecycle_stage, "customers": int(row.customers), "share": row.share,
         "ci_low": row.ci_low, "ci_high": row.ci_high, "definition": definitions[row.lifecycle_stage]}
        for row in current_stages(store, filters, thresholds).itertuples()
    ]
    funnel = purchase_funnel(store, filters, args.min_tenure_days)
    funnel_records = [
        {"step": s.step, "customers": s.customers, "n_previous_step": s.previous_customers,
         "conversion": s.conversion if i else None, "ci_low": s.ci_low, "ci_high": s.ci_high,
         "share_of_first": s.share_of_first}
        for i, s in enumerate(funnel.steps)
    ]
    if args.format == "csv":
        emit(stages, "csv")
        return 0
    km = time_to_second_purchase(store, filters)
    by_day = {}
    for days in (30, 90, 180, 365):
        share, low, high = km.event_probability_by(days)
        by_day[f"within_{days}_days"] = {"share": share, "ci_low": low, "ci_high": high}
    emit({
        "as_of": str(defaults.as_of) if defaults.as_of else None,
        "thresholds": {"at_risk_days": thresholds.at_risk_days, "lapsed_days": thresholds.lapsed_days,
                       "vip_top_share": thresholds.vip_top_share, "vip_tiers": list(thresholds.vip_tiers),
                       "default_explanation": defaults.explanation},
        "customers": sum(s["customers"] for s in stages),
        "stages": stages,
        "funnel": {"first_purchase_from": filters.start.isoformat(), "first_purchase_to": filters.end.isoformat(),
                   "min_tenure_days": funnel.min_tenure_days, "steps": funnel_records},
        "time_to_second_purchase": {
            "method": "Kaplan-Meier; customers without a second purchase are censored at the data's end",
            "first_time_buyers": km.subjects, "second_purchases": km.events, "censored": km.censored,
            "median_days": None if km.median != km.median else km.median,
            "median_ci_low": None if km.median_ci_low != km.median_ci_low else km.median_ci_low,
            "median_ci_high": None if km.median_ci_high != km.median_ci_high or km.median_ci_high == float("inf")
            else km.median_ci_high,
            **by_day,
        },
    }, "json")
    return 0


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

    # retention: cohorts and lifecycle
    cohorts = reports.add_parser("cohorts", help="acquisition cohort matrix: cohort, period, value, cohort size")
    _add_db(cohorts)
    _add_filters(cohorts)
    cohorts.add_argument("--grain", choices=("month", "week", "quarter"), default="month")
    cohorts.add_argument("--metric", choices=("customers", "revenue", "ltv"), default="customers",
                         help="customers retained (share), revenue retention, or cumulative revenue per customer")
    cohorts.add_argument("--split", choices=("none", "channel", "discount"), default="none",
                         help="split cohorts by acquisition channel or first-order discount")
    _add_format(cohorts)
    cohorts.set_defaults(handler=cmd_report_cohorts)

    lifecycle = reports.add_parser("lifecycle", help="customers per lifecycle stage, the purchase funnel and "
                                                     "time to second purchase")
    _add_db(lifecycle)
    _add_filters(lifecycle)
    lifecycle.add_argument("--at-risk-days", type=int, help="default: the brand's 80th percentile purchase gap")
    lifecycle.add_argument("--lapsed-days", type=int, help="default: twice that, at least 180")
    lifecycle.add_argument("--vip-top-share", type=float, default=0.10, help="top share of buyers by revenue")
    lifecycle.add_argument("--min-tenure-days", type=int, default=90,
                           help="funnel: only customers whose first purchase is at least this old")
    _add_format(lifecycle)
    lifecycle.set_defaults(handler=cmd_report_lifecycle)
    from engagement.nps import DIMENSIONS

    for survey, what in (("nps", "NPS"), ("csat", "CSAT (% satisfied)")):
        report_survey = reports.add_parser(
            survey, help=f"{what} per group with answers, top/middle/bottom counts and the 95 %% interval")
        _add_db(report_survey)
        _add_filters(report_survey)
        report_survey.add_argument("--by", choices=["all", *DIMENSIONS], default="all",
                                   help="group answers by this (default: all answers in one group)")
        _add_format(report_survey)
        report_survey.set_defaults(handler=cmd_report_survey)

        outcomes = reports.add_parser(
            f"{survey}-outcomes", help=f"repurchase, churn and revenue in the N days after a {what} answer, "
                                       "per answer category, with 95 %% intervals (censored answers left out)")
        _add_db(outcomes)
        _add_filters(outcomes)
        outcomes.add_argument("--days", type=int, default=90, help="follow-up window after the answer (default 90)")
        _add_format(outcomes)
        outcomes.set_defaults(handler=cmd_report_survey_outcomes)

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

    # engagement / ROI
    engagement = reports.add_parser("engagement", help="engaged vs unengaged customers, score make-up, channels")
    _add_db(engagement)
    _add_filters(engagement)
    _add_format(engagement)
    _add_engagement_definition(engagement)
    engagement.add_argument("--conversion-days", type=int, default=7, choices=range(1, 91), metavar="DAYS",
                            help="a click converts when a purchase follows within this many days (1 to 90, default 7)")
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
