"""The file's text for plans that fold or filter rows: read once, then written once as ``folded_input``.

A row-preserving plan types the rows straight from the file (``staging.stage``); a plan that folds rows into
orders (line items, Shopify) or filters them (Klaviyo) needs each row's number first, to point at an order's
first line and to take the first non-blank value of an order-level field. Its output is written once into the
temporary table ``folded_input``, which every later step reads (the float-id check, typing, failing rows and
quarantine): a view would fold the whole file again for each (measured on Online Retail's 541,909 lines: 8
folds, ~0.3 s each).
"""

from __future__ import annotations

import dataclasses
from contextlib import nullcontext

import duckdb

from engagement.intake import readers, sources
from engagement.intake.readers import ReadInfo

FOLDED_TABLE = "folded_input"


class FileText:
    """The text table of a lazily opened file (``readers.read_into(defer_text=True)``), read once when needed."""

    def __init__(self, cur: duckdb.DuckDBPyConnection, info: ReadInfo, file_name: str,
                 columns: tuple[str, ...] | None = None):
        # Only the columns the mapping reads are copied (see SourcePlan.read_columns).
        self.cur, self.info, self.file_name = cur, readers.only_columns(info, columns), file_name
        self.columns = columns

    @property
    def deferred(self) -> bool:
        return self.info.deferred_select is not None

    def __call__(self) -> None:
        self.info = readers.read_text(self.cur, self.info, self.file_name)


def write_folded(cur: duckdb.DuckDBPyConnection, kind: str, plan: sources.SourcePlan,
                 text: FileText) -> sources.SourcePlan:
    """Write the plan's output into ``folded_input``; the plan reading it (float ids read as integers).

    A fold that counts its lines (``SourcePlan.counts_lines``) reads a lazily opened file where it is, its rows
    numbered as they are read (``readers.number_in_place``), and the file's rows are the sum of the lines it
    folded; any other plan reads the numbered text table first. ``text.info`` then holds the file's row count.
    """
    in_place = plan.counts_lines and text.deferred and readers.number_in_place(cur, text.info, text.columns)
    if not in_place:
        text()
    # Read from the file itself: a CSV error surfaces in this query.
    with readers.unreadable_text_rejected(text.file_name, text.info.delimiter) if in_place else nullcontext():
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {FOLDED_TABLE} AS {plan.select_sql}").fetchall()
    if plan.counts_lines:
        lines = cur.execute(f"SELECT coalesce(sum(line_count), 0) FROM {FOLDED_TABLE}").fetchall()[0][0]
        cur.execute(f"ALTER TABLE {FOLDED_TABLE} DROP COLUMN line_count").fetchall()
        if in_place:
            text.info = dataclasses.replace(text.info, rows=int(lines), deferred_select=None, deferred_reader=None)
    return sources.integer_ids(cur, kind, dataclasses.replace(plan, select_sql=f"SELECT * FROM {FOLDED_TABLE}"))
