"""Issue 20, the intake's share of a full load: the UTC-offset test of the typing pass runs its regular expression
only on cells that can match (``parsing.has_offset_sql``), with the same answer on every cell.

The cells are written by hand: ISO times with and without offsets (positive, negative, with and without the colon,
``Z``), dates alone, d/m/y text, blanks and NULL. The expected answer is Python's ``re`` with the same pattern
(``OFFSET_PATTERN``; ``\\Z`` for RE2's end of text), not the SQL under test.
"""

from __future__ import annotations

import re

import duckdb

from engagement.intake.parsing import OFFSET_PATTERN, has_offset_sql

CELLS = [
    "2025-03-01 10:00:00", "2025-03-01 10:00:00+02:00", "2025-03-01 10:00:00-05:00", "2025-03-01T10:00:00-0500",
    "2025-03-01T10:00:00.123+0530", "2025-03-01 10:00:00Z", "2025-03-01T10:00Z", "2025-03-01 10:00 -05:00",
    "2025-03-01", "01/03/2025 10:00", "1/3/2025 10:00-0100", "2025-03-01 10:00:00 PST", "10:00-05", "Z", "", "  ",
    "2025-03-01 10:00:00.5-03:30", "2025-03-01-10:00", "ab:cd-ef", None,
]


def test_the_prefiltered_offset_test_agrees_with_the_regular_expression_on_every_cell():
    pattern = re.compile(OFFSET_PATTERN.removesuffix("$") + r"\Z")
    expected = [None if cell is None else bool(pattern.search(cell)) for cell in CELLS]
    assert sum(bool(e) for e in expected) == 9  # the cells above with an offset (or Z) right after the time
    con = duckdb.connect()
    con.execute("CREATE TABLE cells (n INTEGER, cell VARCHAR)")
    con.executemany("INSERT INTO cells VALUES (?, ?)", list(enumerate(CELLS)))
    got = [row[0] for row in con.execute(f"SELECT {has_offset_sql('cell')} FROM cells ORDER BY n").fetchall()]
    assert got == expected
