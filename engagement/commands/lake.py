"""``lake export DIR``: from embedded to lake, the canonical tables as Parquet for warehouse mode."""

from __future__ import annotations

import argparse

from engagement.commands.common import CliError, add_db_option, emit, open_store


def cmd_lake_export(args: argparse.Namespace) -> int:
    from engagement.warehouse.lake import export_lake

    store = open_store(args, needs_derived=False)
    try:
        counts = export_lake(store.cursor(), args.dir)
    except OSError as exc:
        raise CliError(f"Cannot write the lake at {args.dir}: {exc.strerror or exc}") from None
    emit({"lake": str(args.dir), "tables": counts, "mapping": f"{args.dir}/mapping.toml",
          "next": f"python -m engagement report kpis --engine spark --lake {args.dir}"}, "json")
    return 0


def add_lake_parser(commands) -> None:
    lake = commands.add_parser("lake", help="move from the embedded database to a lake (Parquet, Spark)")
    actions = lake.add_subparsers(dest="lake_action", required=True)
    export = actions.add_parser("export", help="write the canonical tables to DIR as Parquet (orders, events, "
                                               "messages and surveys partitioned by month) and a mapping.toml")
    export.add_argument("dir", help="folder to write (each table's folder in it is replaced)")
    add_db_option(export)
    export.set_defaults(handler=cmd_lake_export)
