"""``report nps|csat`` (per group, with intervals) and ``report nps-outcomes|csat-outcomes`` (behaviour after)."""

from __future__ import annotations

import argparse

from engagement.commands.common import (
    CliError, add_db_option, add_filter_options, add_format_option, emit, filters_from_args, open_store,
)


def cmd_report_survey(args: argparse.Namespace) -> int:
    """NPS (or CSAT) per group of --by, each with n and its 95 % interval."""
    from engagement.voice.csat import CSAT_SCALE
    from engagement.voice.nps import NPS_SCALE, SMALL_GROUP_MIN, breakdown_records, survey_breakdown

    scale = NPS_SCALE if args.report == "nps" else CSAT_SCALE
    store = open_store(args)
    filters = filters_from_args(store, args)
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
    from engagement.voice.csat import CSAT_SCALE
    from engagement.voice.nps import NPS_SCALE, behaviour_after_answer, behaviour_verdict

    scale = NPS_SCALE if args.report.startswith("nps") else CSAT_SCALE
    if args.days < 1:
        raise CliError("--days must be at least 1.")
    store = open_store(args)
    filters = filters_from_args(store, args)
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


def add_survey_report_parsers(reports) -> None:
    """report nps, nps-outcomes, csat and csat-outcomes, in that order."""
    from engagement.voice.nps import DIMENSIONS

    for survey, what in (("nps", "NPS"), ("csat", "CSAT (%% satisfied)")):
        report_survey = reports.add_parser(
            survey, help=f"{what} per group with answers, top/middle/bottom counts and the 95 %% interval")
        add_db_option(report_survey)
        add_filter_options(report_survey)
        report_survey.add_argument("--by", choices=["all", *DIMENSIONS], default="all",
                                   help="group answers by this (default: all answers in one group)")
        add_format_option(report_survey)
        report_survey.set_defaults(handler=cmd_report_survey)

        outcomes = reports.add_parser(
            f"{survey}-outcomes", help=f"repurchase, churn and revenue in the N days after a {what} answer, "
                                       "per answer category, with 95 %% intervals (censored answers left out)")
        add_db_option(outcomes)
        add_filter_options(outcomes)
        outcomes.add_argument("--days", type=int, default=90, help="follow-up window after the answer (default 90)")
        add_format_option(outcomes)
        outcomes.set_defaults(handler=cmd_report_survey_outcomes)
