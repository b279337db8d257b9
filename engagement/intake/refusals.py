"""Why a whole file is refused: the exceptions every reader raises (their messages name the problem and the fix)."""

from __future__ import annotations


class FileRejected(ValueError):
    """The whole file is refused; the message says what is wrong and how to fix it."""


class QuotedLineBreaks(FileRejected):
    """The file has line breaks inside quoted cells (a multi-line comment), which DuckDB's parallel CSV
    reader cannot combine with padding short rows: the caller reads it again with ``parallel=False``."""
