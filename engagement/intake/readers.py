"""Reading an export file into DuckDB as text, whatever shape it arrives in.

Every reader puts the file into a temporary table of VARCHAR columns (``raw_input``; for Parquet a view
casting the file's columns to text) on the cursor it is given, plus ``file_row``: the row number a
spreadsheet shows for that row (the header is row 1, so the first data row is row 2). Delimited text can
instead be opened lazily (``defer_text=True``): ``raw_input`` is then a view over the file without row
numbers, which staging types in the same pass that reads it, and :func:`read_text` reads the text table only
if it is needed (to quote failing rows, or to parse a column the forgiving way). Reading everything as text
keeps leading zeros, formula-looking cells (``=1+1`` stays the text ``=1+1``) and lets validation say which
row could not be parsed instead of the reader failing on row 3,214,007.

Formats are recognised from the content, not only the name: gzip, Parquet (``PAR1``), XLSX (a zip),
otherwise delimited text, whose encoding :mod:`engagement.intake.text_scan` decides (UTF-8, Latin-1 or
Windows-1252); the delimiter (``,``, ``;``, tab or ``|``) is taken from the header line, and a semicolon file
is assumed to write decimal commas (``12,50``), as European spreadsheet exports do.

Problems that make the whole file unusable raise :class:`FileRejected` with a message that names the
problem and the fix.
"""

from __future__ import annotations

import gzip
import re
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator

import duckdb

from engagement.intake.inflated_size import inflation_bound, inflation_problem, parquet_rows, zip_size
from engagement.intake.refusals import FileRejected, MixedLineEndings, QuotedLineBreaks
from engagement.intake.text_scan import SCAN_BYTES, mixes_line_endings, scan_text, sniff_encoding, transcoded, \
    uniform_line_endings
from engagement.warehouse.sandbox import escape_wildcards

RAW_TABLE = "raw_input"
TYPED_TABLE = "raw_typed"  # a Parquet file's columns as stored, with ``file_row`` (a fold reads typed values there)
ROW_COLUMN = "file_row"
SAMPLE_BYTES = 8 * 1024 * 1024
DELIMITERS = (",", ";", "\t", "|")
# An OLE compound file: an old .xls, or an .xlsx saved with a password (Office wraps the encrypted workbook
# in one, with an "EncryptionInfo" stream named in its directory in UTF-16).
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
OLE_ENCRYPTED = "EncryptionInfo".encode("utf-16-le")


@dataclass(frozen=True)
class ReadInfo:
    """How a file was read: format, text encoding, delimiter, columns and data rows."""

    file_format: str
    encoding: str | None
    delimiter: str | None
    decimal_comma: bool
    columns: tuple[str, ...]
    rows: int | None  # None while the text is not read yet (see ``deferred_select``)
    notes: tuple[str, ...] = field(default_factory=tuple)
    # ``SELECT * FROM read_csv(...)`` of a file opened with ``defer_text=True`` and not yet read.
    deferred_select: str | None = None
    deferred_reader: str | None = None  # its ``read_csv(...)`` call (see :func:`number_in_place`)
    # A lazily opened file: the options of that call before its ``columns`` (see :func:`typed_reader`) and the text
    # of its first data row, in ``columns`` order (what a typed read is tried on first).
    reader_options: str | None = None
    first_row: tuple[str | None, ...] | None = None
    # Parquet: each column's stored DuckDB type, in ``columns`` order; the view ``raw_typed`` holds the typed values
    column_types: tuple[str, ...] | None = None
    # Parquet: the CREATE of ``raw_input`` (the text view), run only when something reads it (:func:`text_view`)
    text_view: str | None = field(default=None, compare=False, repr=False)
    # Delimited text: the file DuckDB reads, looked at again when it cannot parse it (:func:`unreadable_text_rejected`)
    path: Path | None = field(default=None, compare=False, repr=False)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    """A SQL string literal for a value we chose (paths, delimiters); never user cell values."""
    return "'" + text.replace("'", "''") + "'"


def file_literal(path: Path) -> str:
    """``path`` as a SQL literal DuckDB's file readers take as that one file, never as a pattern.

    DuckDB expands ``*``, ``?`` and ``[...]`` in any path it reads (and ``[ab].csv`` would read ``a.csv``):
    each such character is written as a one-character class (``[*]``), which matches only itself. The path
    is made absolute so that no prefix of a relative name (``s3:``, ``http:``) is taken for a protocol.
    """
    return _literal(escape_wildcards(Path(path).absolute()))


def sniff_format(head: bytes, name: str) -> str:
    """``csv``, ``csv.gz``, ``parquet`` or ``xlsx`` from the first bytes, falling back to the name."""
    if head.startswith(b"\x1f\x8b"):
        return "csv.gz"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(OLE_MAGIC):
        return "ole"
    if name.lower().endswith((".tsv", ".tab")):
        return "tsv"
    return "csv"


def _looks_binary(sample: bytes) -> bool:
    if not sample:
        return False
    if b"\x00" in sample[:4096] and not sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    control = sum(1 for b in sample[:4096] if b < 32 and b not in (9, 10, 13))
    return control > 0.02 * min(len(sample), 4096)


def sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _text_sample(path: Path, file_format: str) -> bytes:
    opener = gzip.open if file_format == "csv.gz" else open
    try:
        with opener(path, "rb") as handle:
            return handle.read(SAMPLE_BYTES)
    except (OSError, EOFError) as exc:
        raise FileRejected(
            f"{path.name} could not be decompressed ({exc}). Compress the CSV again with gzip, or upload it "
            "uncompressed."
        ) from exc


def read_into(cur: duckdb.DuckDBPyConnection, path: str | Path, display_name: str | None = None,
              defer_text: bool = False, parallel: bool = True,
              scratch: Callable[[], Path] | None = None, notes: tuple[str, ...] = ()) -> ReadInfo:
    """Read ``path`` into the temporary table ``raw_input`` (text columns + ``file_row``) on ``cur``.

    With ``defer_text``, delimited text is only opened: ``raw_input`` is a view over the file whose
    ``file_row`` is NULL, the header and the first data row are checked, and ``rows`` is None until
    :func:`read_text` reads it (other formats are read at once either way). ``parallel=False`` reads
    delimited text in one thread, which a file with line breaks in quoted cells needs
    (:class:`QuotedLineBreaks`, raised by any statement that reads it in parallel). ``scratch()`` gives a folder
    DuckDB may read that lives as long as the load, for the UTF-8 copy of a Windows-1252 file (without it, such a
    file is refused). ``notes``: how the caller changed the file before this read (added to the read's notes).

    Raises
    ------
    FileRejected
        Empty file, header without rows, binary data, an unreadable workbook or Parquet file.
    """
    path = Path(path)
    name = display_name or path.name
    if path.stat().st_size == 0:
        raise FileRejected(f"{name} is empty (0 bytes). Export the data again; the file was probably not saved.")
    with open(path, "rb") as handle:
        head = handle.read(8)
    file_format = sniff_format(head, name)
    too_large = inflation_problem(path, file_format, name)  # before anything inflates it
    if too_large:
        raise FileRejected(too_large)
    if file_format == "ole":
        raise FileRejected(_ole_message(path, name))
    if file_format == "parquet":
        info = _read_parquet(cur, path, name)
    elif file_format == "xlsx":
        info = _read_xlsx(cur, path, name)
    else:
        info = _read_delimited(cur, path, name, file_format, defer_text, parallel, scratch)
    if notes:
        info = replace(info, notes=tuple(notes) + info.notes)
    if not info.columns or all(not c.strip() for c in info.columns):
        raise FileRejected(f"{name} has no header row. Put the column names on the first line.")
    if info.rows == 0:
        raise FileRejected(
            f"{name} has a header but no data rows. Export again with the date range that holds the data."
        )
    return info


UNIFORM_LINE_ENDINGS_NOTE = ("Some lines ended with CR LF (Windows) and others with LF alone: the file was read with "
                             "LF line endings throughout (line breaks inside quoted cells too).")


def _compression_of(path: Path, name: str) -> str:
    """``csv.gz`` or ``csv`` from the file's first bytes (the file DuckDB read: a converted copy is not gzip)."""
    with open(path, "rb") as handle:
        return sniff_format(handle.read(8), name)


def _mixes_line_endings(path: Path, name: str) -> bool:
    """Whether the first megabytes of the delimited file ``path`` end lines in both ways (asked after a failure)."""
    try:
        return mixes_line_endings(_text_sample(path, _compression_of(path, name)))
    except (FileRejected, OSError):
        return False  # unreadable here too: the parse error is the message


def uniform_copy(path: Path, name: str, scratch: Callable[[], Path] | None) -> Path:
    """A copy of the delimited file ``path`` (gzip-compressed or not) whose lines all end with LF, in ``scratch()``
    (:class:`MixedLineEndings`); the caller reads it instead, with :data:`UNIFORM_LINE_ENDINGS_NOTE`."""
    return uniform_line_endings(path, _compression_of(path, name), scratch, name)


def _ole_message(path: Path, name: str) -> str:
    """Why an OLE compound file is refused: a password-protected workbook, or an old binary Office file."""
    encrypted, tail = False, b""
    with open(path, "rb") as handle:
        while not encrypted and (chunk := handle.read(SCAN_BYTES)):
            encrypted = OLE_ENCRYPTED in tail + chunk
            tail = chunk[-len(OLE_ENCRYPTED):]
    if encrypted:
        return (f"{name} is a password-protected (encrypted) Excel workbook, which cannot be read without the "
                "password. Open it in Excel, remove the password (File > Info > Protect Workbook > Encrypt with "
                "Password, clear it) and save it as .xlsx, or export CSV (UTF-8). Nothing was loaded.")
    return (f"{name} is an old binary Office file (Excel 97-2003 .xls or similar), which is not read here. Open "
            "it in Excel or LibreOffice and save it as .xlsx, or export CSV (UTF-8). Nothing was loaded.")


def _refuse_duplicate_names(header_line: str, delimiter: str, name: str) -> None:
    """Two columns of one name (compared as the mapping does: case and spaces ignored) would leave one of them
    unread: refused, naming the names and their positions (1 = first column)."""
    import csv

    header = next(csv.reader([header_line], delimiter=delimiter), [])
    positions: dict[str, list[int]] = {}
    for position, column in enumerate(header, start=1):
        positions.setdefault(column.strip().lower().replace(" ", "_"), []).append(position)
    repeated = [(header[p[0] - 1].strip(), p) for p in positions.values() if len(p) > 1 and header[p[0] - 1].strip()]
    if repeated:
        listed = "; ".join(f"{column!r} in columns {', '.join(map(str, p))}" for column, p in repeated)
        raise FileRejected(f"{name} has more than one column of the same name: {listed}. Rename or remove the "
                           "extra column(s) and export again; nothing was loaded.")


def read_text(cur: duckdb.DuckDBPyConnection, info: ReadInfo, display_name: str) -> ReadInfo:
    """Read a lazily opened file (``defer_text``) into ``raw_input`` with row numbers; else a no-op.

    ``ReadInfo.columns`` stays the file's whole header when ``deferred_select`` reads only some columns
    (:func:`only_columns`).
    """
    if info.deferred_select is None:
        return info
    with unreadable_text_rejected(display_name, info.delimiter, info):
        cur.execute(f"CREATE OR REPLACE TEMP TABLE raw_unnumbered AS {info.deferred_select}").fetchall()
    columns, rows = _number_rows(cur)
    return ReadInfo(info.file_format, info.encoding, info.delimiter, info.decimal_comma, info.columns or columns,
                    rows, info.notes, path=info.path)


def text_view(cur: duckdb.DuckDBPyConnection, info: ReadInfo) -> ReadInfo:
    """Make ``raw_input`` of a Parquet file (a view of its columns as text) if it is not made yet.

    A Parquet line-item fold reads the typed view ``raw_typed`` alone (``folding.stage_typed``); binding the text
    view as well cost about 0.7 ms of CPU per load (the file's footer read again, a cast per column)."""
    if info.text_view is None:
        return info
    cur.execute(info.text_view).fetchall()
    return replace(info, text_view=None)


def only_columns(info: ReadInfo, columns: tuple[str, ...] | None) -> ReadInfo:
    """``info`` whose text table, once read (:func:`read_text`), holds only ``columns`` of the file (None: all).

    Every column is still parsed, so a malformed row is refused all the same; only the copy is smaller.
    """
    if info.deferred_select is None or columns is None or not columns:
        return info
    select = f"SELECT {', '.join(_quote(c) for c in columns)} FROM ({info.deferred_select})"
    return replace(info, deferred_select=select)


def number_in_place(cur: duckdb.DuckDBPyConnection, info: ReadInfo, columns: tuple[str, ...] | None) -> bool:
    """``raw_input`` as a view over a lazily opened file (``defer_text``) numbering its rows as it reads them,
    for a query that reads the text once (a fold): no text table. False (nothing done) when that is not possible.

    ``WITH ORDINALITY`` counts the rows of DuckDB's parallel CSV reader in file order (it keeps insertion order),
    so ``file_row`` is the number :func:`read_text` gives. Measured on Online Retail's 541,909 lines as CSV:
    copying the 5 folded columns cost 0.21 s of CPU and folding the copy 0.10 s; folding the numbered file 0.19 s.
    """
    if info.deferred_reader is None or any(c.strip().lower() == "ordinality" for c in info.columns):
        return False
    selected = ", ".join(_quote(c) for c in (columns or info.columns))
    cur.execute(f"CREATE OR REPLACE TEMP VIEW {RAW_TABLE} AS SELECT {selected}, CAST(ordinality + 1 AS BIGINT) AS "
                f"{ROW_COLUMN} FROM {info.deferred_reader} WITH ORDINALITY").fetchall()
    return True


@contextmanager
def unreadable_text_rejected(display_name: str, delimiter: str | None, info: ReadInfo | None = None
                             ) -> Iterator[None]:
    """Turn a DuckDB error raised while parsing delimited text into :class:`FileRejected`.

    Wraps every statement that parses the file: with ``defer_text`` that is the staging query. ``info``: how the
    file was opened; a file ending some lines with CR LF and others with LF alone (looked at only now, after the
    failure) raises :class:`MixedLineEndings`, and the caller reads a copy with one kind.
    """
    try:
        yield
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        path = info.path if info is not None else None
        if path is not None:  # the server's path (a spool folder, a converted copy): no reader of the message
            first = first.replace(str(path), display_name)  # needs it, nor should see it
        separated = "tab" if delimiter == "\t" else repr(delimiter)
        if "quoted new lines" in str(exc):
            raise QuotedLineBreaks(f"{display_name} has line breaks inside quoted cells; read it in one thread.") \
                from exc
        if path is not None and _mixes_line_endings(path, display_name):
            raise MixedLineEndings(f"{display_name} ends some lines with CR LF and others with LF alone.") from exc
        raise FileRejected(
            f"{display_name} could not be read as {separated}-separated text: {first}. Check that every row has "
            "the same number of columns and that quotes are closed; re-export as CSV (UTF-8)."
        ) from exc


def table_columns(cur: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """Column names of a (temporary) table, in order."""
    result = cur.execute(f"SELECT * FROM {_quote(table)} LIMIT 0")
    names = [d[0] for d in result.description]
    result.fetchall()
    return names


def drop_temp(cur: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Drop temporary tables or views if they exist, whichever each is. Looked up first (all in one query), not
    tried: a failing statement would abort the transaction of a batch of loads (Store.batch) this may run in."""
    found = cur.execute(
        "SELECT 'TABLE', table_name FROM duckdb_tables() WHERE temporary AND list_contains($names, table_name) "
        "UNION ALL SELECT 'VIEW', view_name FROM duckdb_views() WHERE temporary AND list_contains($names, view_name)",
        {"names": list(names)},
    ).fetchall()
    order = {name: position for position, name in enumerate(names)}  # views before the tables they read
    for kind, name in sorted(found, key=lambda item: order[item[1]]):
        cur.execute(f"DROP {kind} IF EXISTS temp.{_quote(name)}").fetchall()


def _number_rows(cur: duckdb.DuckDBPyConnection) -> tuple[tuple[str, ...], int]:
    """``raw_input``: a view adding ``file_row`` to ``raw_unnumbered`` (no copy of the data).

    The rowid of a freshly created table follows insertion order, i.e. file order.
    """
    cur.execute(
        f"CREATE OR REPLACE TEMP VIEW {RAW_TABLE} AS "
        f"SELECT *, CAST(rowid + 2 AS BIGINT) AS {ROW_COLUMN} FROM raw_unnumbered"
    ).fetchall()
    columns = tuple(c for c in table_columns(cur, RAW_TABLE) if c != ROW_COLUMN)
    rows = cur.execute("SELECT count(*) FROM raw_unnumbered").fetchall()[0][0]
    return columns, rows


def _read_delimited(cur: duckdb.DuckDBPyConnection, path: Path, name: str, file_format: str,
                    defer_text: bool = False, parallel: bool = True,
                    scratch: Callable[[], Path] | None = None) -> ReadInfo:
    sample = _text_sample(path, file_format)
    if not sample or sample.isspace():  # not strip(): that copies the 8 MB sample
        raise FileRejected(f"{name} is empty (no text). Export the data again; the file was probably not saved.")
    if _looks_binary(sample):
        raise FileRejected(
            f"{name} is not a text file: it holds binary data (control bytes such as 0x00). Export the table as "
            "CSV (UTF-8), or upload the original .xlsx or .parquet file."
        )
    encoding = scan_text(path, file_format, name, sniff_encoding(sample), sample)
    # Only the first line is decoded: decoding and splitting the whole 8 MB sample for it cost 0.1-0.2 s. A line
    # break byte ends the first line in UTF-8 and Latin-1 alike (never inside a character).
    first_break = sample.find(b"\n") if encoding != "utf-16" else -1
    head = sample[:first_break + 1] if first_break >= 0 else sample
    lines = head.decode("cp1252" if encoding == "windows-1252" else encoding, errors="replace"
                        ).lstrip("\ufeff").splitlines()
    header_line = lines[0] if lines else ""
    delimiter = "\t" if file_format == "tsv" else sniff_delimiter(header_line)
    _refuse_duplicate_names(header_line, delimiter, name)
    decimal_comma = delimiter == ";"
    notes = []
    if encoding == "latin-1":
        notes.append("The file is not UTF-8; it was read as Latin-1 (Windows Western European).")
    compressed = file_format == "csv.gz"
    if encoding == "windows-1252":
        notes.append("The file is not UTF-8; it was read as Windows-1252 (Windows Western European, with € and "
                     "curly quotes) and converted to UTF-8.")
        path, compressed = transcoded(path, file_format, name, scratch), False
    if decimal_comma:
        notes.append("Semicolon-separated: numbers with a decimal comma (12,50) are read as 12.50.")
    read_as = "utf-8" if encoding == "windows-1252" else encoding  # the converted copy is UTF-8
    options = (
        f"delim={_literal(delimiter)}, header=true, all_varchar=true, quote='\"', escape='\"', "
        f"encoding={_literal(read_as)}, sample_size=-1, null_padding=true, "
        f"compression={_literal('gzip' if compressed else 'none')}{'' if parallel else ', parallel=false'}"
    )
    reader = f"read_csv({file_literal(path)}, {options})"
    select = f"SELECT * FROM {reader}"
    opened = ReadInfo(file_format, encoding, delimiter, decimal_comma, (), None, tuple(notes), select, reader,
                      path=path)
    if not defer_text:
        return read_text(cur, opened, name)
    with unreadable_text_rejected(name, delimiter, opened):
        # DuckDB's sniffer looks at the file once, here: the header's column names and whether a data row follows.
        # Every later query names those columns and sniffs no more (each query binding a sniffing read_csv cost
        # 0.015 s of CPU on Online Retail's CSV, and a lazily opened file is bound by four or five).
        first = cur.execute(f"{select} LIMIT 1")
        names = [d[0] for d in first.description]
        head = first.fetchall()
        reader_options = f"{file_literal(path)}, {options}, auto_detect=false"
        reader = typed_reader(reader_options, names, {})
        select = f"SELECT * FROM {reader}"
        cur.execute(
            f"CREATE OR REPLACE TEMP VIEW {RAW_TABLE} AS SELECT *, CAST(NULL AS BIGINT) AS {ROW_COLUMN} FROM ({select})"
        ).fetchall()
    columns = tuple(c for c in names if c != ROW_COLUMN)
    first_row = tuple(v for c, v in zip(names, head[0]) if c != ROW_COLUMN) if head else None
    return ReadInfo(file_format, encoding, delimiter, decimal_comma, columns, None if head else 0,
                    tuple(notes), select, reader, reader_options if ROW_COLUMN not in names else None, first_row,
                    path=path)


def typed_reader(reader_options: str, names: list[str] | tuple[str, ...], types: dict[str, str]) -> str:
    """The ``read_csv(...)`` call of a lazily opened file reading the columns ``types`` names as those DuckDB types
    and every other column as text: it raises on the first cell that type cannot read."""
    columns = ", ".join(f"{_literal(c)}: {_literal(types.get(c, 'VARCHAR'))}" for c in names)
    return f"read_csv({reader_options}, columns={{{columns}}})"


def _read_parquet(cur: duckdb.DuckDBPyConnection, path: Path, name: str) -> ReadInfo:
    try:
        # The columns from a relation (bound, not run) and the row count from the file's footer: 0.5-0.7 ms of CPU
        # less than DESCRIBE and count(*) in one statement. The relation is made from SQL with the path as a
        # literal whose wildcards are escaped: ``cur.read_parquet(path)`` would glob a name like ``p*.parquet``.
        relation = cur.sql(f"SELECT * FROM read_parquet({file_literal(path)})")
        described = [(column, str(sql_type)) for column, sql_type in zip(relation.columns, relation.types)]
        rows = parquet_rows(path)
        if rows is None:
            rows = cur.execute(f"SELECT count(*) FROM read_parquet({file_literal(path)})").fetchall()[0][0]
    except duckdb.Error as exc:
        raise FileRejected(
            f"{name} is not a readable Parquet file ({str(exc).splitlines()[0]}). Write it again, or export CSV."
        ) from exc
    casts = ", ".join(f"CAST({_quote(c[0])} AS VARCHAR) AS {_quote(c[0])}" for c in described)
    # A view, not a sorted copy: Parquet stores each row's position (file_row_number), so the rows are numbered
    # without sorting, and each query reads the (compressed, columnar) file again, only the columns it needs.
    # Copying Online Retail's 541,909 lines as text in file order cost 0.2-0.4 s; the fold reads the view as
    # fast as it read the copy.
    numbered = f"CAST(file_row_number + 2 AS BIGINT) AS {ROW_COLUMN} FROM read_parquet({file_literal(path)}, " \
               "file_row_number=true)"
    text = f"CREATE OR REPLACE TEMP VIEW {RAW_TABLE} AS SELECT {casts}, {numbered}"  # made when read (text_view)
    typed = ", ".join(_quote(c[0]) for c in described)
    cur.execute(f"CREATE OR REPLACE TEMP VIEW {TYPED_TABLE} AS SELECT {typed}, {numbered}").fetchall()
    columns = tuple(c[0] for c in described)
    return ReadInfo("parquet", None, None, False, columns, rows,
                    ("Parquet has no header line: row numbers count data rows from 2, as a spreadsheet would.",),
                    column_types=tuple(str(c[1]) for c in described), text_view=text)


def _read_xlsx(cur: duckdb.DuckDBPyConnection, path: Path, name: str) -> ReadInfo:
    import pandas as pd

    try:
        frame = pd.read_excel(path, sheet_name=0, dtype=str, engine="openpyxl")
        uncalculated = _formulas_without_results(path)
    except Exception as exc:  # openpyxl raises many types for a broken workbook
        raise FileRejected(
            f"{name} is not a readable Excel workbook ({exc}). Save it again as .xlsx, or export CSV (UTF-8)."
        ) from exc
    if uncalculated:
        count, cell, formula = uncalculated
        raise FileRejected(
            f"{name} has {count:,} formula cell(s) with no saved result, the first {cell} (={formula}): the program "
            "that wrote the workbook did not calculate them, so their values are not in the file (they would load "
            "as empty). Open it in Excel or LibreOffice and save it again (that stores the results), or export "
            "CSV. Nothing was loaded.")
    frame.columns = [str(c) for c in frame.columns]
    return register_frame(cur, frame, file_format="xlsx", notes=("Read the first sheet of the workbook.",))


XLSX_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
XLSX_FORMULA = re.compile(rb"<(?:\w+:)?f\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?f>)", re.S)
XLSX_VALUE = re.compile(rb"<(?:\w+:)?v>")
XLSX_REF = re.compile(rb'\br="([A-Z]+[0-9]+)"')


def _formulas_without_results(path: Path) -> tuple[int, str, str] | None:
    """(count, first cell, its formula) of the first sheet's formula cells that carry no cached result.

    pandas reads the cached result (openpyxl's ``data_only``); a workbook written by a library (openpyxl,
    many exporters) has formulas with no result, which would load as empty cells. An empty result of a
    text formula (``t="str"`` with ``<v></v>``, as Excel saves ``=""``) is a result.
    """
    import zipfile

    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        sheet_path = workbook.worksheets[0]._worksheet_path  # the sheet pandas read (sheet_name=0)
    finally:
        workbook.close()
    with zipfile.ZipFile(path) as archive:
        xml = archive.read(sheet_path)
    if b"<f" not in xml and b":f" not in xml:
        return None
    count, first = 0, None
    for cell in XLSX_CELL.finditer(xml):
        inner = cell.group(2) or b""
        formula = XLSX_FORMULA.search(inner)
        if not formula:
            continue
        value = XLSX_VALUE.search(inner)
        if value and (inner[value.end():value.end() + 1] != b"<" or b't="str"' in cell.group(1)):
            continue
        count += 1
        if first is None:
            ref = XLSX_REF.search(cell.group(1))
            first = (ref.group(1).decode() if ref else "?",
                     (formula.group(1) or b"(shared formula)").decode("utf-8", errors="replace")[:80])
    return (count, *first) if count else None


def register_frame(cur: duckdb.DuckDBPyConnection, frame, file_format: str = "frame",
                   notes: tuple[str, ...] = ()) -> ReadInfo:
    """Put an in-memory frame (the demo generator's output) into ``raw_input`` like a file."""
    frame = frame.reset_index(drop=True)
    cur.register("incoming_raw_frame", frame)
    try:
        casts = ", ".join(f"CAST({_quote(str(c))} AS VARCHAR) AS {_quote(str(c))}" for c in frame.columns)
        cur.execute(f"CREATE OR REPLACE TEMP TABLE raw_unnumbered AS SELECT {casts} FROM incoming_raw_frame").fetchall()
    finally:
        cur.unregister("incoming_raw_frame")
    columns, rows = _number_rows(cur)
    return ReadInfo(file_format, None, None, False, columns, rows, notes)


def peek_columns(data: bytes, name: str) -> tuple[str, ...]:
    """The header of an upload without reading the whole file (empty tuple when there is none)."""
    import csv
    import io

    file_format = sniff_format(data[:8], name)
    if file_format == "parquet":
        import pyarrow.parquet as pq

        try:
            return tuple(pq.ParquetFile(io.BytesIO(data)).schema_arrow.names)
        except Exception:  # a broken file is reported by the full read
            return ()
    if file_format == "xlsx":
        import openpyxl

        if zip_size(io.BytesIO(data)) > inflation_bound(len(data)):
            return ()  # openpyxl would inflate the shared strings whole; the full read refuses it with the limit
        try:
            sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
            first = next(sheet.iter_rows(max_row=1, values_only=True), ())
            return tuple(str(c) for c in first if c is not None)
        except Exception:
            return ()
    sample = data[:65536]
    if file_format == "csv.gz":
        try:
            sample = gzip.GzipFile(fileobj=io.BytesIO(data)).read(65536)
        except (OSError, EOFError):
            return ()
    if _looks_binary(sample):
        return ()
    text = sample.decode(sniff_encoding(sample), errors="replace").lstrip("\ufeff")
    lines = text.splitlines()
    if not lines:
        return ()
    delimiter = "\t" if file_format == "tsv" else sniff_delimiter(lines[0])
    return tuple(next(csv.reader([lines[0]], delimiter=delimiter), []))

