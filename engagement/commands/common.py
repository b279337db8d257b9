"""What every command shares: the error type, JSON/CSV output, opening the database, common options."""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import date
from typing import Any

import pandas as pd

from engagement import config


class CliError(Exception):
    """A problem to report to the user in plain words (exit code 1)."""


def parse_date(value: str) -> date:
    """argparse type for ``YYYY-MM-DD``; anything else is a usage error (exit code 2)."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date; use YYYY-MM-DD") from None


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as records, a missing value (NULL, NaT, a text column's NaN) as None: printed as null with no
    reason, since nothing was computed. A float column's NaN stays NaN, which :func:`json_ready` explains."""
    out = frame.astype(object)
    for column in frame.columns[[not pd.api.types.is_float_dtype(t) for t in frame.dtypes]]:
        out[column] = out[column].where(frame[column].notna(), None)
    return out.to_dict("records")


def json_safe(value: Any) -> Any:
    """JSON-safe scalars: NaN and infinities become null, numpy and Decimal values become plain numbers; a missing
    timestamp (NaT) or pandas' NA is null too."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if type(value).__name__ in ("NaTType", "NAType"):  # by name: reading pd.NaT would import pandas (stand_ins)
        return None
    value = _plain(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value.__class__.__name__ == "Decimal":
        return float(value)
    return value


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python number it holds; anything else unchanged."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return value.item()
        except (ValueError, AttributeError):
            pass
    return value


def null_reason(value: Any) -> str | None:
    """Why ``value`` is printed as null in JSON (it is NaN or infinite), or None when it is a finite value.

    The generic words; a command that knows the cause (a control mean of 0, no variation in an arm) puts its
    own ``<field>_null_reason`` beside the field, which :func:`json_ready` keeps.
    """
    if isinstance(value, (list, tuple)):
        bad = [i for i, v in enumerate(value) if null_reason(v) is not None]
        return f"items {bad} are not finite numbers" if bad else None
    value = _plain(value)
    if value.__class__.__name__ == "Decimal":
        value = float(value)
    if not isinstance(value, float) or math.isfinite(value):
        return None
    if math.isnan(value):
        return "not a number: the inputs do not define this value"
    return f"{'+' if value > 0 else '-'}infinite: the computation divides by zero"


def json_ready(value: Any) -> Any:
    """:func:`json_safe` for JSON output: each field nulled because it was NaN or infinite gets a sibling
    ``<field>_null_reason`` (unless the record already gives one), so null is never unexplained."""
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            out[key] = json_ready(item)
            reason = null_reason(item) if not isinstance(item, dict) else None
            if reason is not None and f"{key}_null_reason" not in value:
                out[f"{key}_null_reason"] = reason
        return out
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return json_safe(value)


def to_json(value: Any) -> str:
    """The one JSON encoder of every command: NaN and infinities are refused by the encoder
    (``allow_nan=False``) after :func:`json_ready` turned them into null with a reason."""
    return json.dumps(json_ready(value), indent=2, default=str, allow_nan=False)


def emit(records: list[dict[str, Any]] | dict[str, Any], fmt: str, out=None) -> None:
    """Print records as JSON (a list or an object) or CSV (one row per record)."""
    from engagement.exports import to_safe_csv

    out = out or sys.stdout
    if fmt == "json":
        out.write(to_json(records) + "\n")
    else:
        rows = records if isinstance(records, list) else [records]
        out.write(to_safe_csv(pd.DataFrame([json_safe(r) for r in rows])))


# Stores opened by the running command; ``cli.main`` closes them when it returns, so that a later writable open
# in the same process (a notebook or a test calling ``main`` again) does not meet this one's connection.
_opened_stores: list = []


def close_opened_stores() -> None:
    while _opened_stores:
        _opened_stores.pop().close()


def open_store(args: argparse.Namespace, read_only: bool = True, needs_derived: bool = True, readable=()):
    """The database of ``--db`` or ``--demo`` (:func:`database_path`); a missing file or a lock is a CliError.

    ``readable``: files this command was given to read (``ingest FILE``), added to DuckDB's sandbox for
    this process only; no user SQL runs in a command that reads files.

    Read-only, a database whose derived tables another version built is a CliError too when the command
    reads views (``needs_derived``): a writable open (``upgrade``, ``ingest``) rebuilds them. The store is
    closed when the command returns (``close_opened_stores``).
    """
    from engagement.warehouse.errors import StoreLockedError, StoreOutdatedError
    from engagement.workbench import open_workbench

    if hasattr(args, "engine") and _engine(args) == "spark":
        if not read_only:
            raise CliError("Warehouse mode only reads: loads and undo stay on DuckDB (--engine duckdb).")
        return open_warehouse_store(args)

    path = database_path(args)
    if path != ":memory:" and read_only:
        from pathlib import Path

        if not Path(path).exists():
            if getattr(args, "demo", False) or path == str(config.demo_db_path()):
                raise CliError(f"No demo database at {path}. Create it with `python -m engagement demo`.")
            raise CliError(f"No database at {path}: your brand's database is created by its first load "
                           "(`python -m engagement ingest KIND FILE`). Pass --demo to use the demo brand's.")
    try:
        store = open_workbench(path, read_only=read_only, readable=tuple(readable))
    except StoreLockedError as exc:  # names the database, the holder and what to do
        if not read_only:
            raise CliError(str(exc)) from exc
        store = _open_snapshot(path, exc)
    except Exception as exc:  # duckdb raises IOException for corrupt files
        raise CliError(f"Cannot open the database at {path}: {exc}") from exc
    if not read_only:
        from engagement.warehouse import snapshots

        # The CLI acts as an analyst (access.CLI_ACTOR). Where readers use snapshots (the folder exists:
        # an app published one), its loads and undos publish too, before the command exits.
        if snapshots.snapshot_dir(path).is_dir():
            snapshots.enable(store, keep=config.snapshots_kept(), background=False, publish_if_stale=False)
    if read_only and needs_derived:
        try:
            store.require_current_derived()
        except StoreOutdatedError as exc:
            store.close()
            raise CliError(str(exc)) from None
    _opened_stores.append(store)
    _money_in_orders_currency(store)
    return store


def _money_in_orders_currency(store) -> None:
    """The command's amounts (text, CSV labels, the digest) in the loaded orders' currency (``metrics.money``)."""
    from engagement import metrics
    from engagement.value.currency import order_currencies

    metrics.set_currency(order_currencies(store))


def _engine(args: argparse.Namespace) -> str:
    from engagement.warehouse.engine import engine_name

    try:
        name = engine_name(args.engine)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    tables_given = bool(args.lake or args.mapping)
    if tables_given and args.engine is None:
        return "spark"  # --lake DIR alone means warehouse mode over it
    if tables_given and name != "spark":
        raise CliError("--lake and --mapping name tables for warehouse mode: use them with --engine spark.")
    return name


def open_warehouse_store(args: argparse.Namespace):
    """Warehouse mode (``--engine spark``): the views on Spark over ``--lake DIR`` (the folders ``lake export``
    wrote) or the table mapping ``--mapping FILE`` (defaults ``$ENGAGEMENT_LAKE``, ``$ENGAGEMENT_TABLE_MAPPING``)."""
    from engagement.warehouse.lake import MappingError, configured_mapping
    from engagement.workbench import open_warehouse

    try:  # the same configuration the app reads (ENGAGEMENT_LAKE, ENGAGEMENT_TABLE_MAPPING)
        store = open_warehouse(configured_mapping(args.lake, args.mapping), master=args.spark_master)
        _money_in_orders_currency(store)
        return store
    except MappingError as exc:
        raise CliError(str(exc)) from None


def _open_snapshot(path: str, locked: Exception):
    """The writer's latest read-only snapshot, saying on stderr which load it reflects; CliError when none."""
    from engagement.derived import DERIVED_BUILD
    from engagement.warehouse import snapshots

    try:
        store = snapshots.open_latest(path, derived=DERIVED_BUILD)
    except LookupError as exc:
        raise CliError(f"Cannot open the database at {path}: {locked} {exc}") from None
    print(f"note: {path} is held by another process; reading {store.snapshot_of.describe()}.", file=sys.stderr)
    return store


def filters_from_args(store, args: argparse.Namespace):
    """The view filters from --start/--end/--channel/--segment, defaulting to the last 12 months of data."""
    from engagement.filters import Filters
    from engagement.value.kpis import data_range, default_filters

    defaults = default_filters(data_range(store))
    try:
        return Filters(start=args.start or defaults.start, end=args.end or defaults.end,
                       channels=tuple(args.channel or ()), segments=tuple(args.segment or ()))
    except ValueError as exc:
        raise CliError(str(exc)) from None


# ------------------------------------------------------------------ options shared by several commands
def database_path(args: argparse.Namespace) -> str:
    """``--db PATH``, else the demo's database with ``--demo`` (and for the ``demo`` command), else the brand's
    (``$ENGAGEMENT_DB``): the same two databases the app shows."""
    if getattr(args, "db", None):
        return args.db
    if getattr(args, "demo", False) or getattr(args, "demo_by_default", False):
        return str(config.demo_db_path())
    return str(config.db_path())


def add_db_option(parser: argparse.ArgumentParser, demo_by_default: bool = False) -> None:
    """``--db PATH`` or ``--demo``; without either the brand's database (the demo's for the ``demo`` command)."""
    which = parser.add_mutually_exclusive_group()
    default = "the demo's database" if demo_by_default else f"$ENGAGEMENT_DB or {config.DEFAULT_DB_PATH}"
    which.add_argument("--db", help=f"DuckDB file (default: {default})")
    if demo_by_default:
        parser.set_defaults(demo_by_default=True)
    else:
        which.add_argument("--demo", action="store_true",
                           help="the demo brand's database ($ENGAGEMENT_DEMO_DB or demo.duckdb beside the brand's)")


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """--engine, --lake, --mapping and --spark-master: where a report runs (DuckDB unless told otherwise)."""
    parser.add_argument("--engine", choices=("duckdb", "spark"),
                        help="duckdb (default; $ENGAGEMENT_ENGINE) or spark: warehouse mode, read-only")
    parser.add_argument("--lake", help="warehouse mode over the Parquet folders `lake export DIR` wrote")
    parser.add_argument("--mapping", help="warehouse mode over the tables a TOML table mapping names "
                                          "(default $ENGAGEMENT_TABLE_MAPPING)")
    parser.add_argument("--spark-master", help="Spark master or Spark Connect URL (default $ENGAGEMENT_SPARK_MASTER "
                                               "or local[*])")


def add_format_option(parser: argparse.ArgumentParser, choices=("json", "csv"), default="json") -> None:
    parser.add_argument("--format", choices=choices, default=default)


def add_filter_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", type=parse_date, help="first day (YYYY-MM-DD); default: 12 months before --end")
    parser.add_argument("--end", type=parse_date, help="last day, inclusive; default: the last order date")
    parser.add_argument("--channel", action="append", help="acquisition channel (repeat for several)")
    parser.add_argument("--segment", action="append", help="lifecycle stage (repeat for several)")
