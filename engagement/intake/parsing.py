"""SQL expressions that turn export text into typed values, forgiving about format, strict about meaning.

Each function takes a SQL expression for a text value and returns a SQL expression that evaluates to
the typed value, or NULL when the text is empty or cannot be read. Validation compares "text present"
with "value parsed" to report unparseable cells instead of silently dropping them.

Accepted spellings
------------------
money / numbers
    ``1234.5``, ``1,234.50`` (thousands commas), ``$12.00`` / ``€12`` / ``£12`` (leading symbol), and with
    ``decimal_comma``: ``12,50`` and ``1.234,50``.
timestamps
    ISO dates and times (``2025-01-31``, ``2025-01-31 14:02:11``, ``2025-01-31T14:02:11Z``), times with a
    UTC offset (``2025-01-31 14:02:11 -0500``, converted to UTC), and day/month/year or month/day/year
    with ``/``, ``.`` or ``-`` separators; which of the two is decided per column (see ``date_order``).
booleans
    true/false, yes/no, y/n, 1/0, subscribed/unsubscribed.
"""

from __future__ import annotations

DAY_FIRST_FORMATS = (
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y",
    "%d-%m-%Y %H:%M:%S", "%d-%m-%Y", "%d/%m/%y", "%d.%m.%y",
)
MONTH_FIRST_FORMATS = (
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y",
)
OFFSET_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M %z")
TRUE_WORDS = ("true", "t", "yes", "y", "1", "subscribed", "opted_in")
FALSE_WORDS = ("false", "f", "no", "n", "0", "unsubscribed", "never_subscribed", "not_subscribed", "opted_out")


def _list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def blank_to_null(text_sql: str) -> str:
    """Text without surrounding spaces, NULL when blank; trims only cells that need it (trim is costly).

    One ``contains`` test per cell (a cell with an inner space is trimmed too, which changes nothing):
    about 40 % cheaper than starts_with + ends_with on DuckDB 2.0 (5M cells).
    """
    return (f"CASE WHEN contains({text_sql}, ' ') "
            f"THEN nullif(trim({text_sql}), '') ELSE nullif({text_sql}, '') END")


def money_sql(text_sql: str, decimal_comma: bool, sql_type: str = "DECIMAL(18,2)") -> str:
    """Typed number from text; NULL when blank or unreadable."""
    cleaned = f"regexp_replace(trim({text_sql}), '^([-+]?)\\s*[$€£]\\s*', '\\1')"
    if decimal_comma:
        cleaned = f"replace(replace({cleaned}, '.', ''), ',', '.')"
        return f"try_cast(nullif({cleaned}, '') AS {sql_type})"
    cleaned = (
        f"CASE WHEN regexp_matches({cleaned}, '^[-+]?[0-9]{{1,3}}(,[0-9]{{3}})+(\\.[0-9]+)?$') "
        f"THEN replace({cleaned}, ',', '') ELSE {cleaned} END"
    )
    # Fast path first: plain numbers (nearly every cell) never reach the regular expressions. A CASE, not
    # coalesce: DuckDB 2.0 evaluates every argument of coalesce on every row (the regular expressions made a
    # sum over 541,909 Online Retail quantities 0.076 s instead of 0.009 s); a CASE evaluates its ELSE only
    # on the rows the plain cast did not read.
    fast = f"try_cast({text_sql} AS {sql_type})"
    return f"CASE WHEN {fast} IS NOT NULL THEN {fast} ELSE try_cast(nullif({cleaned}, '') AS {sql_type}) END"


def integer_sql(text_sql: str) -> str:
    """Whole number from text (``7`` or ``7.0``); ``7.5`` is not a score and gives NULL."""
    as_double = f"try_cast({blank_to_null(text_sql)} AS DOUBLE)"
    return f"CASE WHEN {as_double} = floor({as_double}) AND abs({as_double}) < 2e9 THEN CAST({as_double} AS INTEGER) END"


def boolean_sql(text_sql: str) -> str:
    word = f"lower({blank_to_null(text_sql)})"
    return f"CASE WHEN list_contains({_list(TRUE_WORDS)}, {word}) THEN true " \
           f"WHEN list_contains({_list(FALSE_WORDS)}, {word}) THEN false END"


OFFSET_PATTERN = "[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?\\s*([+-][0-9]{2}:?[0-9]{2}|Z)$"


def has_offset_sql(text_sql: str) -> str:
    """Whether a cell ends with a UTC offset (OFFSET_PATTERN; NULL for NULL), the regular expression run only on
    cells that can match: such a cell ends with ``Z``, or holds a ``+``, or a ``-`` after a ``:`` (the offset
    follows the time). Measured on 5M ISO timestamps without offsets: 0.17 CPU s instead of 0.31."""
    return (f"CASE WHEN {text_sql} IS NULL THEN NULL "
            f"WHEN suffix({text_sql}, 'Z') OR contains({text_sql}, '+') OR {text_sql} LIKE '%:%-%' "
            f"THEN regexp_matches({text_sql}, '{OFFSET_PATTERN}') ELSE false END")


def timestamp_sql(text_sql: str, date_order: str, has_offsets: bool = True) -> str:
    """Typed UTC TIMESTAMP from text.

    ``date_order`` is ``day_first`` or ``month_first`` for d/m/y text. ``has_offsets`` (found by
    :func:`offset_probe_sql`) adds the UTC conversion of ``... -0500`` times; a plain cast to
    TIMESTAMP would silently drop the offset.
    """
    text = blank_to_null(text_sql)
    slash_formats = DAY_FIRST_FORMATS if date_order == "day_first" else MONTH_FIRST_FORMATS
    fast = f"try_cast({text_sql} AS TIMESTAMP)"  # a CASE for the reason given in money_sql
    plain = f"CASE WHEN {fast} IS NOT NULL THEN {fast} ELSE try_strptime({text}, {_list(slash_formats)}) END"
    if not has_offsets:
        return plain
    return (
        f"CASE WHEN {text} IS NULL THEN NULL "
        f"WHEN regexp_matches({text}, '{OFFSET_PATTERN}') "
        f"THEN CAST(coalesce(timezone('UTC', try_cast({text} AS TIMESTAMPTZ)), "
        f"timezone('UTC', try_strptime({text}, {_list(OFFSET_FORMATS)}))) AS TIMESTAMP) "
        f"ELSE {plain} END"
    )


def slash_date_probe_sql(text_sql: str, table: str) -> str:
    """Query counting, among cells a plain TIMESTAMP cast cannot read: d/m/y-like cells with a first
    part > 12 (so day first), a second part > 12 (month first), and d/m/y-like cells at all.

    The regular expression runs in the WHERE-filtered subquery only: machine-written ISO timestamps,
    nearly every cell of a large export, never reach it.
    """
    parts = f"regexp_extract({text_sql}, '^\\s*([0-9]{{1,2}})[/.-]([0-9]{{1,2}})[/.-][0-9]{{2,4}}', ['a', 'b'])"
    return (
        "SELECT count(*) FILTER (WHERE try_cast(p.a AS INTEGER) > 12), "
        "count(*) FILTER (WHERE try_cast(p.b AS INTEGER) > 12), count(*) FILTER (WHERE p.a <> '') "
        f"FROM (SELECT {parts} AS p FROM {table} WHERE try_cast({text_sql} AS TIMESTAMP) IS NULL)"
    )


def offset_probe_sql(text_sql: str, table: str) -> str:
    """Query counting cells with a UTC offset (``-0500``, ``+01:00``, ``Z``)."""
    return f"SELECT count(*) FROM {table} WHERE regexp_matches({text_sql}, '{OFFSET_PATTERN}')"


def typed_sql(text_sql: str, sql_type: str, decimal_comma: bool, date_order: str, has_offsets: bool = True) -> str:
    """Dispatch on the canonical column's SQL type."""
    if sql_type.startswith("DECIMAL") or sql_type == "DOUBLE":
        return money_sql(text_sql, decimal_comma, sql_type)
    if sql_type == "INTEGER" or sql_type == "BIGINT":
        return integer_sql(text_sql)
    if sql_type == "BOOLEAN":
        return boolean_sql(text_sql)
    if sql_type == "TIMESTAMP":
        return timestamp_sql(text_sql, date_order, has_offsets)
    if sql_type == "DATE":
        return f"CAST({timestamp_sql(text_sql, date_order, has_offsets)} AS DATE)"
    return blank_to_null(text_sql)
