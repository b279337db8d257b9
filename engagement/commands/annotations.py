"""``python -m engagement annotations add|list|remove``: the dated notes every time-series chart draws."""

from __future__ import annotations

import argparse

from engagement.commands.common import CliError, add_db_option, add_format_option, emit, open_store, parse_date


def cmd_annotations_add(args: argparse.Namespace) -> int:
    from engagement.leadership.annotations import AnnotationError, add_annotation

    store = open_store(args, read_only=False, needs_derived=False)
    try:
        added = add_annotation(store, args.date, args.note)
    except AnnotationError as exc:
        raise CliError(str(exc)) from exc
    emit({"annotation_id": added.annotation_id, "noted_on": added.noted_on.isoformat(), "note": added.note,
          "status": "added"}, "json")
    return 0


def cmd_annotations_list(args: argparse.Namespace) -> int:
    from engagement.leadership.annotations import list_annotations

    store = open_store(args, read_only=True, needs_derived=False)
    frame = list_annotations(store, args.start, args.end)
    records = [{**row, "noted_on": row["noted_on"].isoformat(), "created_at": str(row["created_at"])}
               for row in frame.to_dict("records")]
    emit(records, args.format)
    return 0


def cmd_annotations_remove(args: argparse.Namespace) -> int:
    from engagement.leadership.annotations import AnnotationError, remove_annotation

    store = open_store(args, read_only=False, needs_derived=False)
    try:
        removed = remove_annotation(store, args.annotation_id)
    except AnnotationError as exc:
        raise CliError(str(exc)) from exc
    emit({"annotation_id": removed.annotation_id, "noted_on": removed.noted_on.isoformat(), "note": removed.note,
          "status": "removed"}, "json")
    return 0


def add_annotations_parser(commands) -> None:
    annotations = commands.add_parser("annotations", help="dated notes drawn on every time-series chart")
    actions = annotations.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a dated note (e.g. a campaign launch)")
    add.add_argument("date", type=parse_date, help="the day it happened (YYYY-MM-DD)")
    add.add_argument("note", help="what happened, as it should read on the charts")
    add_db_option(add)
    add.set_defaults(handler=cmd_annotations_add)
    listing = actions.add_parser("list", help="the notes, oldest first")
    listing.add_argument("--start", type=parse_date, help="first day (YYYY-MM-DD); default: all")
    listing.add_argument("--end", type=parse_date, help="last day, inclusive; default: all")
    add_db_option(listing)
    add_format_option(listing)
    listing.set_defaults(handler=cmd_annotations_list)
    remove = actions.add_parser("remove", help="remove a note by its number (see list)")
    remove.add_argument("annotation_id", type=int, help="the note's annotation_id")
    add_db_option(remove)
    remove.set_defaults(handler=cmd_annotations_remove)
