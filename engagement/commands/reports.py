"""``report kpis``, ``report cohorts``, ``report lifecycle`` and ``report clv``: the Overview, retention and CLV."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from engagement.commands.common import (
    CliError, add_db_option, add_filter_options, add_format_option, emit, filters_from_args, json_safe,
    open_store, parse_date,
)


def cmd_report_kpis(args: argparse.Namespace) -> int:
    from engagement.value.kpis import kpis_as_records, overview_kpis

    store = open_store(args)
    filters = filters_from_args(store, args)
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


# ---------------------------------------------------------------- retention: cohorts and lifecycle
def cmd_report_cohorts(args: argparse.Namespace) -> int:
    from engagement.retention.cohorts import (
        METRICS, before_every_window_note, cohort_records, first_purchase_span, retention_matrix,
    )

    store = open_store(args)
    filters = filters_from_args(store, args)
    matrix = retention_matrix(store, filters, grain=args.grain, split=args.split)
    records = cohort_records(matrix, args.metric)
    span = first_purchase_span(store) if matrix.cells.empty else (None, None)
    empty = before_every_window_note(span, filters)
    if empty:  # CDNOW's default window: every customer first bought before it
        empty += f" Pass --start {span[0].isoformat()} (or earlier) to see them."
        print(empty, file=sys.stderr)
    if args.format == "json":
        column, label, unit, definition = METRICS[args.metric]
        emit({
            "grain": args.grain, "metric": args.metric, "split": args.split, "label": label, "unit": unit,
            "definition": definition, "start": filters.start.isoformat(), "end": filters.end.isoformat(),
            "as_of": str(matrix.as_of) if matrix.as_of else None,
            "note": "cohort 'all' is the cohort-size-weighted average over mature cells; immature cells are null",
            **({"empty_reason": empty} if empty else {}),
            "cells": records,
        }, "json")
    else:
        from engagement.exports import to_safe_csv

        # convert_dtypes keeps whole counts whole next to the blank (immature) cells.
        sys.stdout.write(to_safe_csv(pd.DataFrame([json_safe(r) for r in records]).convert_dtypes()))
    return 0


def cmd_report_lifecycle(args: argparse.Namespace) -> int:
    from engagement.retention.lifecycle import (
        StageThresholds, current_stages, default_thresholds, purchase_funnel, stage_definitions,
        time_to_second_purchase,
    )
    from engagement.retention.cohorts import before_every_window_note, first_purchase_span

    store = open_store(args)
    filters = filters_from_args(store, args)
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
        reason = ("no first-time buyer in the window" if not km.subjects else
                  f"no first-time buyer was watched {days} days yet (the longest watch: {km.follow_up:.0f} days)"
                  if not km.followed(days) else None)
        by_day[f"within_{days}_days"] = {"share": share, "ci_low": low, "ci_high": high, **(
            {f"{k}_null_reason": reason for k in ("share", "ci_low", "ci_high")} if reason else {})}
    # CDNOW's default window: every customer first bought before it, so the funnel and the wait are empty.
    empty = before_every_window_note(first_purchase_span(store), filters) if not km.subjects else None
    emit({
        "as_of": str(defaults.as_of) if defaults.as_of else None,
        "thresholds": {"at_risk_days": thresholds.at_risk_days, "lapsed_days": thresholds.lapsed_days,
                       "vip_top_share": thresholds.vip_top_share, "vip_tiers": list(thresholds.vip_tiers),
                       "default_explanation": defaults.explanation},
        "customers": sum(s["customers"] for s in stages),
        "stages": stages,
        "funnel": {"first_purchase_from": filters.start.isoformat(), "first_purchase_to": filters.end.isoformat(),
                   "min_tenure_days": funnel.min_tenure_days, "steps": funnel_records,
                   **({"empty_reason": empty} if empty else {})},
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


# ---------------------------------------------------------------- CLV
def cmd_report_clv(args: argparse.Namespace) -> int:
    from engagement.retention.clv import clv_as_record
    from engagement.retention.clv_default import fit_clv

    store = open_store(args)
    try:
        result = fit_clv(store, calibration_end=args.calibration_end, unit=args.unit, horizon_days=args.horizon_days,
                         channels=tuple(args.channel or ()), segments=tuple(args.segment or ()))
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    emit(clv_as_record(result), args.format)
    return 0


# ------------------------------------------------------------------ parsers
def add_kpis_report_parser(reports) -> None:
    kpis = reports.add_parser("kpis", help="the Overview KPIs with intervals and the previous period")
    add_db_option(kpis)
    add_filter_options(kpis)
    add_format_option(kpis)
    kpis.set_defaults(handler=cmd_report_kpis)


def add_retention_report_parsers(reports) -> None:
    """report cohorts and report lifecycle."""
    cohorts = reports.add_parser("cohorts", help="acquisition cohort matrix: cohort, period, value, cohort size")
    add_db_option(cohorts)
    add_filter_options(cohorts)
    cohorts.add_argument("--grain", choices=("month", "week", "quarter"), default="month")
    cohorts.add_argument("--metric", choices=("customers", "revenue", "ltv"), default="customers",
                         help="customers retained (share), revenue retention, or cumulative revenue per customer")
    cohorts.add_argument("--split", choices=("none", "channel", "discount"), default="none",
                         help="split cohorts by acquisition channel or first-order discount")
    add_format_option(cohorts)
    cohorts.set_defaults(handler=cmd_report_cohorts)

    lifecycle = reports.add_parser("lifecycle", help="customers per lifecycle stage, the purchase funnel and "
                                                     "time to second purchase")
    add_db_option(lifecycle)
    add_filter_options(lifecycle)
    lifecycle.add_argument("--at-risk-days", type=int, help="default: the brand's 80th percentile purchase gap")
    lifecycle.add_argument("--lapsed-days", type=int, help="default: twice that, at least 180")
    lifecycle.add_argument("--vip-top-share", type=float, default=0.10, help="top share of buyers by revenue")
    lifecycle.add_argument("--min-tenure-days", type=int, default=90,
                           help="funnel: only customers whose first purchase is at least this old")
    add_format_option(lifecycle)
    lifecycle.set_defaults(handler=cmd_report_lifecycle)


def add_clv_report_parser(reports) -> None:
    clv = reports.add_parser("clv", help="BG/NBD + Gamma-Gamma fit (r, alpha, a, b; p, q, gamma), holdout check "
                                         "and CLV forecast")
    add_db_option(clv)
    clv.add_argument("--calibration-end", type=parse_date,
                     help="last day of the calibration period (default: the end of the data minus at most 26 weeks)")
    clv.add_argument("--unit", choices=("day", "week"), default="week", help="time unit of recency, T and alpha")
    clv.add_argument("--horizon-days", type=int, default=90, help="forecast horizon in days (default 90)")
    clv.add_argument("--channel", action="append", help="acquisition channel (repeat for several)")
    clv.add_argument("--segment", action="append", help="lifecycle stage (repeat for several)")
    add_format_option(clv, choices=("json",))
    clv.set_defaults(handler=cmd_report_clv)
