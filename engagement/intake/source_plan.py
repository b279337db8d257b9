"""What a source turns a file into: the SELECT from the text table ``raw_input`` to one kind's canonical columns
(:class:`SourcePlan`), and the header lookup every source's plan is written with (:class:`Header`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from engagement.intake.readers import ROW_COLUMN
from engagement.sql import quote_identifier


@dataclass(frozen=True)
class SourcePlan:
    """The SELECT that maps ``raw_input`` to canonical text columns, and what it did to the file."""

    source: str
    select_sql: str
    mapped: dict = field(default_factory=dict)
    ignored_columns: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    # One output row per file row, in file order (no GROUP BY, no WHERE): the rows can then be
    # typed straight from the file and numbered by position (see ``staging.stage``).
    row_preserving: bool = False
    # The file columns the SELECT reads (None: it may read any). Only these are copied when the file's text
    # is read into a table (``readers.read_text``): the failing rows and the quarantine quote the mapped
    # columns, never the others. Online Retail's fold reads 5 of its 8 columns (Description is most of its text).
    read_columns: tuple[str, ...] | None = None
    # The SELECT has a ``line_count`` column (a fold: how many file rows each output row folds, every row once),
    # dropped once summed: the file's rows are then counted without a text table (``folding.write_folded``).
    counts_lines: bool = False
    # A line-item fold of typed (Parquet) columns that ``folding.stage_typed`` types in the same statement (see
    # there): the fold (``line_items.folded_select(typed=True)``), its canonical columns in order with how each
    # is typed ("text": as staging types text, "same": its text is its value, "double_id": an id stored as
    # DOUBLE, "timestamp", "text_timestamp": text typed as staging's plain cast types it, "money"), and the SELECT
    # quoting unreadable lines (``line_items.unreadable_lines_select``).
    typed_fold: str | None = None
    fold_typing: tuple[tuple[str, str], ...] = ()
    unreadable_lines: str | None = None
    # A line-item fold of a lazily opened CSV: the same fold reading the line numbers as DOUBLE
    # (``csv_types``, for ``readers.typed_reader``), typed in one statement (``folding.stage_typed_csv``), which
    # is tried first; this plan, the text path, is taken when the CSV reader or the plain casts cannot read a value.
    typed_csv: SourcePlan | None = None
    csv_types: tuple[tuple[str, str], ...] = ()
    csv_time: str | None = None  # the CSV's column of the order time (text, typed per order)
    csv_ids: tuple[tuple[str, str], ...] = ()  # (id column, the CSV's column) of the text ids it folds


class Header:
    """Case- and space-insensitive lookup of a file's columns."""

    def __init__(self, columns: tuple[str, ...]):
        self.columns = columns
        self._by_key = {self.key(c): c for c in columns}

    @staticmethod
    def key(name: str) -> str:
        return " ".join(name.strip().lower().replace("_", " ").split())

    def find(self, *aliases: str) -> str | None:
        for alias in aliases:
            hit = self._by_key.get(self.key(alias))
            if hit is not None:
                return hit
        return None

    def has(self, *names: str) -> bool:
        return all(self.find(n) for n in names)

    def col(self, *aliases: str) -> str:
        """SQL for the first alias present, else NULL text."""
        hit = self.find(*aliases)
        return quote_identifier(hit) if hit else "CAST(NULL AS VARCHAR)"


def first_value(column_sql: str) -> str:
    """First non-blank value of an order-level field over the order's line-item rows.

    Non-blank as ``nullif(trim(x), '') IS NOT NULL``, with trim (which also strips Unicode spaces) only for
    cells that do not start with a printable ASCII character: trimming every line's date cost 0.05 s of
    Online Retail's fold, the first-character test 0.007 s.
    """
    present = (f"CASE WHEN ascii({column_sql}) BETWEEN 33 AND 126 THEN true "
               f"ELSE nullif(trim({column_sql}), '') IS NOT NULL END")
    return f"arg_min({column_sql}, {ROW_COLUMN}) FILTER (WHERE {present})"
