"""A/B tests: ``report experiment`` on loaded assignments and ``abtest`` on a per-unit results file."""

from __future__ import annotations

import argparse

from engagement.commands.common import CliError, add_db_option, add_format_option, emit, open_store


def _analysis_options(args: argparse.Namespace):
    from engagement.experiments.inputs import parse_split
    from engagement.experiments.analysis import AnalysisOptions

    return AnalysisOptions(
        control=args.control, correction=args.correction, alpha=args.alpha, use_cuped=not args.no_cuped,
        sequential=args.sequential, planned_n_per_arm=args.planned_n, intended_split=parse_split(args.split or ""),
    )


def _emit_analysis(analysis, fmt: str) -> None:
    from engagement.experiments.analysis import analysis_summary, result_records

    if fmt == "json":
        emit(analysis_summary(analysis), "json")
    else:
        emit(result_records(analysis) + result_records(analysis, segments=True), "csv")


def cmd_abtest(args: argparse.Namespace) -> int:
    from engagement.experiments.inputs import read_unit_file, unit_file_analysis
    from engagement.experiments.analysis import ExperimentInputError

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
    from engagement.experiments.analysis import ExperimentInputError, ExperimentQuery, experiment_analysis, experiment_ids

    store = open_store(args)
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


# ------------------------------------------------------------------ parsers
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


def add_experiment_report_parser(reports) -> None:
    experiment = reports.add_parser("experiment", help="an A/B test on loaded assignments: SRM, lifts, verdicts")
    experiment.add_argument("experiment_id")
    add_db_option(experiment)
    experiment.add_argument("--window-days", type=int, default=30, help="days after assignment (default 30)")
    experiment.add_argument("--segment-by", choices=("none", "lifecycle_stage", "acquisition_channel"),
                            default="none", help="also break results down by this segment")
    experiment.add_argument("--event-type", help="add the share of customers with this event type as a metric")
    _add_analysis_options(experiment, control_required=False)
    add_format_option(experiment)
    experiment.set_defaults(handler=cmd_report_experiment)


def cmd_report_experiments(args: argparse.Namespace) -> int:
    """Every assigned experiment: metadata, dates, arms, units, sample-ratio status, primary metric's verdict."""
    from engagement.commands.common import frame_records, json_safe
    from engagement.experiments.catalog import experiments_list

    frame = experiments_list(open_store(args))
    records = [json_safe({k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()})
               for r in frame_records(frame)]
    emit({"experiments": records} if args.format == "json" else records, args.format)
    return 0


def add_experiments_list_parser(reports) -> None:
    listing = reports.add_parser("experiments", help="every loaded experiment: dates, arms, units, SRM, verdict")
    add_db_option(listing)
    add_format_option(listing)
    listing.set_defaults(handler=cmd_report_experiments)


def add_abtest_parser(commands) -> None:
    abtest = commands.add_parser("abtest", help="A/B test a per-unit results file (CSV, CSV.gz or Parquet)")
    abtest.add_argument("file")
    abtest.add_argument("--variant-col", required=True, help="column holding each unit's variant")
    abtest.add_argument("--metrics", required=True, help="comma-separated metric columns (0/1 columns are rates)")
    abtest.add_argument("--covariate", help="pre-period column for CUPED")
    abtest.add_argument("--segment-col", help="column to break results down by")
    # Accepted like on every command, so that scripts can pass one --db everywhere; the analysis reads FILE
    # only, never the database, so the file named here is not opened (nor created).
    add_db_option(abtest)
    _add_analysis_options(abtest, control_required=True)
    add_format_option(abtest)
    abtest.set_defaults(handler=cmd_abtest)
