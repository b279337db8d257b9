"""Getting data in and out again: demo, validate, ingest, undo, upgrade."""

from __future__ import annotations

import argparse
import sys

from engagement.commands.common import CliError, add_db_option, database_path, emit, frame_records, open_store


def cmd_demo(args: argparse.Namespace) -> int:
    from engagement.intake.ingest import ingest_demo

    store = open_store(args, read_only=False)
    if not store.is_empty() and not args.force:
        raise CliError(f"The database at {store.path} already holds data; pass --force to add the demo to it.")
    summaries = ingest_demo(store, customers=args.customers, seed=args.seed)
    emit([s.as_dict() for s in summaries], "json")
    return 0


def _exit_code(result, success: str) -> int:
    """Print the JSON summary; 0 when the file got ``success``, else 1 with the reason on stderr."""
    emit(result.as_dict(), "json")
    if result.status != success:
        print(f"error: {result.message}", file=sys.stderr)
        return 1
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Report only: the file is checked against the database's customers but nothing is written."""
    from pathlib import Path

    from engagement.intake.ingest import ingest_file
    from engagement.warehouse.store import Store

    if args.engine == "spark" or args.lake or args.table_mapping:
        return _validate_warehouse(args)
    if args.kind is None or args.file is None:
        raise CliError("validate needs KIND FILE (or --engine spark with --lake DIR or --table-mapping FILE).")
    path = database_path(args)
    file = _existing_file(args.file)
    # DuckDB only, as for ingest: the Spark path is _validate_warehouse above.
    _import_validation_in_background(file.stat().st_size, without_spark=getattr(args, "one_command_process", False))
    store = open_store(args, read_only=True, needs_derived=False, readable=(file,)) \
        if Path(path).exists() or path == ":memory:" else Store.open(":memory:", read_only=False, readable=(file,))
    result = ingest_file(store, args.kind, file, source=args.source,
                         on_invalid=args.on_invalid, dry_run=True, mapping=_mapping(args),
                         strict_customers=args.strict_customers)
    return _exit_code(result, "valid")


def _validate_warehouse(args: argparse.Namespace) -> int:
    """validate --engine spark: the mapped tables against their suites on Spark (exit 1 when a table fails)."""
    from engagement.commands.common import open_warehouse_store
    from engagement.intake.spark_validation import validate_mapped_tables

    store = open_warehouse_store(argparse.Namespace(lake=args.lake, mapping=args.table_mapping,
                                                    spark_master=args.spark_master))
    records = validate_mapped_tables(store)
    emit(records, "json")
    return 0 if all(r["success"] for r in records if r["level"] != "warning") else 1


def cmd_ingest(args: argparse.Namespace) -> int:
    from engagement.intake.ingest import ingest_file, ingest_files
    from engagement.warehouse.schema import KINDS

    files = [(args.kind, _existing_file(args.file))] + [(args.kind, _existing_file(f)) for f in args.more_files]
    for pair in args.also or ():
        kind, _, name = pair.partition("=")
        if kind not in KINDS or not name:
            raise SystemExit(f"error: --also takes KIND=FILE with KIND one of {', '.join(KINDS)}; got {pair!r}")
        files.append((kind, _existing_file(name)))
    _import_validation_in_background(sum(file.stat().st_size for _, file in files),
                                     without_spark=getattr(args, "one_command_process", False))
    # DuckDB reads the files where they are
    store = open_store(args, read_only=False, readable=tuple(file for _, file in files))
    store.defer_refits = args.defer_fits
    options = dict(source=args.source, on_invalid=args.on_invalid, mapping=_mapping(args),
                   strict_customers=args.strict_customers)
    if len(files) == 1:
        return _exit_code(ingest_file(store, args.kind, files[0][1], **options), "loaded")
    results = ingest_files(store, files, **options)  # one transaction, one derived update
    emit({"files": [result.as_dict() for result in results]}, "json")
    refused = [result for result in results if result.status != "loaded"]
    if refused:
        print(f"error: {refused[-1].message}", file=sys.stderr)
        return 1
    return 0


def cmd_refit(args: argparse.Namespace) -> int:
    """Build the stored views a write dropped and refit the default CLV and churn models when the data moved since
    their fit (after `ingest --defer-fits`)."""
    from engagement.derived import refit_models, restore_deferred
    from engagement.derived.refits import refit_if_due

    store = open_store(args, read_only=False)
    emit({"refitted": refit_if_due(store, refit_models, restore_deferred)}, "json")
    return 0


def cmd_upgrade(args: argparse.Namespace) -> int:
    """Open the database for writing once: derived tables built by another version are rebuilt."""
    from engagement.workbench import open_workbench

    path = database_path(args)
    try:
        before = open_workbench(path, read_only=True)
    except Exception as exc:
        raise CliError(f"Cannot open the database at {path}: {exc}") from exc
    current = before.derived_are_current()
    before.close()
    if not current:
        open_store(args, read_only=False).close()  # open_workbench rebuilds them
    emit({"db": path, "derived_tables": "already current" if current else "rebuilt"}, "json")
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    store = open_store(args, read_only=False)
    store.defer_refits = args.defer_fits
    try:
        note = store.undo(args.load_id)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    emit({"load_id": args.load_id, "status": "undone", "table_counts": store.table_counts(),
          **({"note": note} if note else {})}, "json")
    return 0


def _mapping(args: argparse.Namespace) -> dict | None:
    """``--mapping FILE.json`` (the Data page's format: {our field: their column or {"constant": value}})
    completed by ``--map "THEIRS=OURS,..."``; None when neither is given."""
    import json

    from engagement.intake.sources import parse_map_option

    mapping: dict = {}
    if args.mapping:
        try:
            mapping = json.loads(_existing_file(args.mapping).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise CliError(f"{args.mapping} is not JSON: {exc}") from exc
        if not isinstance(mapping, dict):
            raise CliError(f"{args.mapping} must hold an object {{our field: their column}}.")
    if args.map:
        try:
            mapping.update(parse_map_option(args.map, args.kind))
        except ValueError as exc:
            raise CliError(str(exc)) from exc
    return mapping or None


def cmd_report_loads(args: argparse.Namespace) -> int:
    """The load history with who loaded and who undid each load, and the whole audit trail (JSON)."""
    from engagement.intake.ingest import load_history
    from engagement.warehouse.audit import audit_trail

    store = open_store(args, read_only=True, needs_derived=False)
    history = load_history(store, limit=args.limit).drop(columns=["sha256"])
    trail = audit_trail(store, limit=args.limit)
    for action, column in (("load", "loaded_by"), ("undo", "undone_by")):
        actors = trail[trail.action == action].drop_duplicates("load_id").set_index("load_id")["actor"]
        # None for loads made before the audit trail, and for loads no one undid (text: a missing actor, not a NaN)
        history[column] = history.load_id.map(actors).astype("string")
    source = store.snapshot_of.describe() if store.snapshot_of is not None else f"the database {store.path}"
    if args.format == "json":
        emit({"source": source, "loads": frame_records(history), "audit_trail": frame_records(trail)}, "json")
    else:
        emit(frame_records(history), "csv")
    return 0


# An export row is rarely shorter than this: a file of N bytes has at most about N / 32 rows.
_MIN_ROW_BYTES = 32


def _import_validation_in_background(total_bytes: int, without_spark: bool = False) -> None:
    """Start importing Great Expectations on another thread when the files look small enough for it to validate
    them (``validation.choose_engine``). The import is 2.5-3 s of CPU, mostly Python (GX's pydantic models,
    scipy.stats, altair, pyspark); meanwhile this thread opens the database and DuckDB reads, stages and checks the file, releasing the
    GIL, so a weekly file's command ends that much sooner. Python's per-module import locks make the validator's
    own ``import great_expectations`` wait for this one rather than import twice; a failure here is left for that
    import to raise where it is reported.

    ``without_spark``: the process ends after this load or check (``python -m engagement``), which uses DuckDB
    only, so GX is imported without pyspark (``gx_import.import_without_spark``: 0.4-0.5 s of CPU less)."""
    import threading

    from engagement.intake import validation
    from engagement.intake.gx_import import import_without_spark

    if validation.choose_engine(total_bytes // _MIN_ROW_BYTES) != "great_expectations":
        return

    def load() -> None:
        try:
            if without_spark:
                import_without_spark()
            else:
                import great_expectations  # noqa: F401
        except Exception:  # reported by the validator's own import
            pass

    threading.Thread(target=load, name="import-great-expectations").start()


def _existing_file(path: str):
    from pathlib import Path

    file = Path(path)
    if not file.is_file():
        raise CliError(f"No file at {path}.")
    return file


# ------------------------------------------------------------------ parsers
def add_demo_parser(commands) -> None:
    demo = commands.add_parser("demo", help="generate the demo brand and load it")
    add_db_option(demo, demo_by_default=True)
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--customers", type=int, default=20_000)
    demo.add_argument("--force", action="store_true", help="load even if the database holds data")
    demo.set_defaults(handler=cmd_demo)


def add_load_parsers(commands) -> None:
    """validate, ingest and undo."""
    from engagement.intake.ingest import ON_INVALID
    from engagement.warehouse.schema import KINDS
    from engagement.intake.sources import SOURCES

    for name, handler, help_text in (
        ("validate", cmd_validate, "check an export against its suite; loads nothing (exit 1 if it would be rejected)"),
        ("ingest", cmd_ingest, "validate an export and load it in one transaction (exit 1 when rejected)"),
    ):
        sub = commands.add_parser(name, help=help_text)
        optional = {"nargs": "?"} if name == "validate" else {}  # validate --engine spark checks mapped tables
        sub.add_argument("kind", choices=KINDS, **optional)
        sub.add_argument("file", help="CSV, TSV, .csv.gz, Parquet or XLSX export", **optional)
        if name == "validate":
            sub.add_argument("--engine", choices=("duckdb", "spark"),
                             help="spark: validate the tables of --lake DIR or --table-mapping FILE on Spark (GX)")
            sub.add_argument("--lake", help="the Parquet folders `lake export` wrote")
            sub.add_argument("--table-mapping", help="a warehouse table mapping (TOML; default "
                                                     "$ENGAGEMENT_TABLE_MAPPING)")
            sub.add_argument("--spark-master", help="Spark master or Spark Connect URL")
        add_db_option(sub)
        sub.add_argument("--source", choices=SOURCES, default="auto", help="export format (default: detect)")
        sub.add_argument("--on-invalid", choices=ON_INVALID, default="reject",
                         help="reject the file, or load valid rows and quarantine the failing ones")
        sub.add_argument("--map", metavar="THEIRS=OURS,...",
                         help="column mapping, e.g. InvoiceNo=order_id,CustomerID=customer_id; FIELD=VALUE gives a "
                              "missing field a constant (currency=GBP)")
        sub.add_argument("--mapping", metavar="FILE.json",
                         help="column mapping as JSON {our field: their column or {\"constant\": value}}")
        sub.add_argument("--strict-customers", action="store_true",
                         help="refuse rows naming a customer no customers export has loaded (default: implied customer)")
        if name == "ingest":
            sub.add_argument("more_files", nargs="*", metavar="FILE",
                             help="more exports of the same kind, loaded in the same transaction")
            sub.add_argument("--also", action="append", metavar="KIND=FILE",
                             help="an export of another kind for the same transaction (repeatable): a week's "
                                  "files load together, with one update of the derived tables, or not at all")
            sub.add_argument("--defer-fits", action="store_true",
                             help="return once the data and derived tables are in; leave rebuilding the stored "
                                  "views of the pages' default windows (pages compute them on demand meanwhile) and "
                                  "refitting the default CLV and churn models to the next load or `refit` (pages "
                                  "show the fit's load meanwhile)")
        sub.set_defaults(handler=handler)

    refit = commands.add_parser("refit", help="refit the default CLV and churn models if the data moved since")
    add_db_option(refit)
    refit.set_defaults(handler=cmd_refit)

    undo = commands.add_parser("undo", help="undo one load, restoring the rows it replaced")
    undo.add_argument("load_id", type=int)
    undo.add_argument("--defer-fits", action="store_true",
                      help="as for ingest: leave the stored views and the model refit to the next write or `refit`")
    add_db_option(undo)
    undo.set_defaults(handler=cmd_undo)

    upgrade = commands.add_parser("upgrade", help="rebuild derived tables another version built (read-only "
                                                  "instances need this once after an upgrade)")
    add_db_option(upgrade)
    upgrade.set_defaults(handler=cmd_upgrade)


def add_loads_report_parser(reports) -> None:
    loads = reports.add_parser("loads", help="the load history with who loaded and undid each load, and the "
                                             "audit trail (loads, undos, saved notebooks and mappings)")
    add_db_option(loads)
    loads.add_argument("--limit", type=int, default=200, help="newest loads and audit rows to show (default 200)")
    loads.add_argument("--format", choices=("json", "csv"), default="json",
                       help="json: loads and audit trail; csv: loads with loaded_by and undone_by")
    loads.set_defaults(handler=cmd_report_loads)
