"""``report engagement`` (engaged vs unengaged customers) and ``report roi`` (return on engagement spending)."""

from __future__ import annotations

import argparse

from engagement.commands.common import (
    CliError, add_db_option, add_filter_options, add_format_option, emit, filters_from_args, open_store,
)


def _weights(raw: str | None):
    """``orders=3,referrals=5`` -> EngagementWeights (unnamed behaviours keep their default)."""
    from dataclasses import fields

    from engagement.value.engagement_score import EngagementWeights

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


def cmd_report_engagement(args: argparse.Namespace) -> int:
    from engagement.value.engagement_score import (
        PURCHASES_ONLY_NOTE, channel_engagement, comparisons_as_records, engagement_view,
    )

    store = open_store(args)
    filters = filters_from_args(store, args)
    weights = _weights(args.weights)
    view = engagement_view(store, filters, weights, args.threshold)
    records = comparisons_as_records(view)
    if args.format == "json":
        channels = channel_engagement(store, filters, args.conversion_days)
        emit({
            "start": filters.start.isoformat(), "end": filters.end.isoformat(),
            "weights": weights.params(), "threshold": args.threshold,
            "customers": view.customers, "engaged_customers": view.engaged_customers,
            # Engaged = frequent buyer when purchases make every point: the comparisons hold by construction.
            "purchases_only": view.purchases_only,
            **({"purchases_only_note": PURCHASES_ONLY_NOTE} if view.purchases_only else {}),
            "comparisons": records,
            "score_components": view.components.drop(columns=["population"]).to_dict("records"),
            "channels": channels.to_dict("records"),
        }, "json")
    else:
        emit(records, "csv")
    return 0


def cmd_report_roi(args: argparse.Namespace) -> int:
    from engagement.value.roi import RoiInputError, report_as_record, roi_report

    if not 0 < args.margin <= 1:
        raise CliError(f"--margin is a fraction between 0 and 1 (0.4 = 40 %), not {args.margin}.")
    store = open_store(args)
    filters = filters_from_args(store, args)
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


# ------------------------------------------------------------------ parsers
def _add_engagement_definition(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threshold", type=float, default=10.0,
                        help="engaged when the score reaches this (default 10)")
    parser.add_argument("--weights", help="points per behaviour, e.g. orders=3,email_clicks=1,referrals=5")


def add_engagement_report_parsers(reports) -> None:
    """report engagement and report roi."""
    engagement = reports.add_parser("engagement", help="engaged vs unengaged customers, score make-up, channels")
    add_db_option(engagement)
    add_filter_options(engagement)
    add_format_option(engagement)
    _add_engagement_definition(engagement)
    engagement.add_argument("--conversion-days", type=int, default=7, choices=range(1, 91), metavar="DAYS",
                            help="a click converts when a purchase follows within this many days (1 to 90, default 7)")
    engagement.set_defaults(handler=cmd_report_engagement)

    roi = reports.add_parser("roi", help="return on engagement spending, with its interval and method")
    add_db_option(roi)
    add_filter_options(roi)
    add_format_option(roi)
    _add_engagement_definition(roi)
    roi.add_argument("--margin", type=float, default=0.4, help="gross margin as a fraction (default 0.4)")
    roi.add_argument("--method", choices=("auto", "holdout", "observational"), default="auto",
                     help="auto: a holdout when an experiment has a clean control arm, else observational")
    roi.add_argument("--experiment", help="experiment id for the holdout method (default: the latest clean one)")
    roi.add_argument("--outcome-days", type=int, default=30,
                     help="holdout: revenue counted this many days from assignment")
    roi.add_argument("--post-days", type=int, default=90,
                     help="observational: the last N days of the period are the outcome period (default 90)")
    roi.add_argument("--programme", help="programme in program_costs to charge (observational default: all "
                     "programmes; a holdout needs the programme that paid for it, or --cost)")
    roi.add_argument("--cost", type=float, help="a typed-in cost instead of the loaded program_costs")
    roi.set_defaults(handler=cmd_report_roi)
