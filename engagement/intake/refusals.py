"""Why a whole file is refused: the exceptions every reader raises (their messages name the problem and the fix)."""

from __future__ import annotations


class FileRejected(ValueError):
    """The whole file is refused; the message says what is wrong and how to fix it."""


class MixedLineEndings(FileRejected):
    """DuckDB could not parse the file, which ends some lines with CR LF and others with LF alone: the caller reads
    it again through a copy with one kind (``text_scan.uniform_line_endings``)."""


class QuotedLineBreaks(FileRejected):
    """The file has line breaks inside quoted cells (a multi-line comment), which DuckDB's parallel CSV
    reader cannot combine with padding short rows: the caller reads it again with ``parallel=False``."""
