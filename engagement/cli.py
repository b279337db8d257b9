"""Command line: the workbench's numbers without a browser.

    python -m engagement demo [--db PATH] [--seed N] [--customers N]
    python -m engagement report kpis [--db PATH] [--start DATE --end DATE] --format json|csv
    python -m engagement report cohorts [--grain month|week|quarter] [--metric customers|revenue|ltv]
        [--split none|channel|discount] --format json|csv
    python -m engagement report lifecycle [--at-risk-days N --lapsed-days N --vip-top-share X] --format json|csv
    python -m engagement report clv [--calibration-end DATE] [--unit day|week] [--horizon-days N] --format json
    python -m engagement report nps|csat [--by all|touchpoint|channel|stage|loyalty|country|month|week] --format json|csv
    python -m engagement report nps-outcomes|csat-outcomes [--days 90] --format json|csv
    python -m engagement report engagement [--threshold 10] [--weights orders=3,...] --format json|csv
    python -m engagement report roi [--margin 0.4] [--method auto|holdout|observational] --format json|csv

    python -m engagement validate KIND FILE [--db PATH] [--source auto|canonical|shopify|klaviyo]
    python -m engagement ingest KIND FILE [--db PATH] [--source ...] [--on-invalid reject|quarantine]
    python -m engagement undo LOAD_ID [--db PATH]
    python -m engagement sql "QUERY" [--db PATH] [--timeout SECONDS] [--max-rows N] [--format csv|json]
    python -m engagement abtest FILE --variant-col COL --control NAME --metrics m1,m2 [--covariate COL]
        [--correction holm|bh|none] --format json|csv
    python -m engagement report experiment EXPERIMENT_ID [--window-days 30] --format json|csv
    python -m engagement report loads [--limit N] --format json|csv    (who loaded, undid, saved what)
    python -m engagement annotations add DATE "NOTE" | list [--start --end] [--format json|csv] | remove ID
    python -m engagement digest [--period 30d] [--comparison auto|year|previous] --format pdf|html|md --out FILE
        [--email TO]
    python -m engagement alerts add METRIC below|above|down_by|up_by|below_target [THRESHOLD] [--email TO]
    python -m engagement alerts list|check|remove RULE_ID
    python -m engagement targets set METRIC VALUE [--direction at_least|at_most] | list | remove METRIC

    python -m engagement lake export DIR [--db PATH]     (the canonical tables as Parquet, for warehouse mode)
    python -m engagement report KIND --engine spark --lake DIR | --mapping FILE [--spark-master URL]
        (warehouse mode: every report but loads, on Spark over the brand's tables; see docs/warehouse.md)

Every command uses the brand's database ($ENGAGEMENT_DB) unless given --db PATH or --demo (the demo brand's
database, where ``demo`` writes by default): the same two databases the app shows.

Commands that write (demo, ingest, undo, upgrade, annotations add/remove, alerts add/remove,
targets set/remove) act as an analyst (``cli:<user>`` in the audit trail):
shell access to the database file is trust already. Reports open the database read-only, or, when the app
holds it, the app's latest read-only snapshot (they say so on stderr, with the load it reflects).

Results go to stdout; errors go to stderr with exit code 1 (2 for usage errors).

This module assembles the parser and dispatches; the commands live in ``engagement/commands/``, one module
per area, each with the options of its commands.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable

from engagement.commands import annotations as annotation_commands
from engagement.commands import engagement_roi, experiments, intake, lake, leadership, reports, sql, surveys
from engagement.commands.common import CliError, add_engine_options, close_opened_stores


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; commands and report kinds are added in the order ``--help`` lists them."""
    parser = argparse.ArgumentParser(prog="engagement", description="Engagement Workbench command line.")
    commands = parser.add_subparsers(dest="command", required=True)

    intake.add_demo_parser(commands)

    report = commands.add_parser("report", help="print a view's numbers")
    report_kinds = report.add_subparsers(dest="report", required=True)
    reports.add_kpis_report_parser(report_kinds)
    reports.add_retention_report_parsers(report_kinds)
    surveys.add_survey_report_parsers(report_kinds)
    reports.add_clv_report_parser(report_kinds)
    engagement_roi.add_engagement_report_parsers(report_kinds)
    experiments.add_experiment_report_parser(report_kinds)
    experiments.add_experiments_list_parser(report_kinds)
    intake.add_loads_report_parser(report_kinds)
    for name, kind in report_kinds.choices.items():
        if name != "loads":  # the load history is the DuckDB store's own; a lakehouse has its pipelines' logs
            add_engine_options(kind)

    intake.add_load_parsers(commands)
    lake.add_lake_parser(commands)
    sql.add_sql_parser(commands)
    experiments.add_abtest_parser(commands)
    annotation_commands.add_annotations_parser(commands)
    leadership.add_leadership_parsers(commands)
    return parser


def main(argv: list[str] | None = None, one_command_process: bool = False) -> int:
    """Run one command; its exit code. ``one_command_process``: this process ends after the command
    (``python -m engagement``), so the command may leave out imports only another command in the same process
    could need (``ingest`` imports Great Expectations without Spark: ``intake.gx_import``). A notebook or a test
    calling ``main`` repeatedly leaves it False."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    args.one_command_process = one_command_process
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        close_opened_stores()
