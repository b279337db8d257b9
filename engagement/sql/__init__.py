"""SQL files, one query per file, grain stated in the first comment line.

Values are always bound as parameters (``$name``), never formatted into the text, with two exceptions that
write them as literals with :func:`with_values`: SQL shown to users to paste ("Show SQL", notebooks), and a
view, which cannot bind parameters (the one-pass load's row checks).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any


@cache
def read_sql(name: str) -> str:
    """Text of ``engagement/sql/<name>.sql`` (``name`` may contain a sub-folder: ``kpis/window``)."""
    path = resources.files("engagement.sql").joinpath(*f"{name}.sql".split("/"))
    return path.read_text(encoding="utf-8")


def quote_identifier(identifier: str) -> str:
    """A table or column name as a DuckDB identifier: in double quotes, inner quotes doubled.

    >>> quote_identifier("order")
    '"order"'
    >>> quote_identifier('a"b') == '"a""b"'
    True
    """
    return '"' + identifier.replace('"', '""') + '"'


def sql_literal_value(value: Any) -> str:
    """A DuckDB literal for a bound parameter value (for display and for pasting into a SQL cell).

    >>> sql_literal_value(dt.datetime(2025, 6, 1)), sql_literal_value(["it's", "b"]), sql_literal_value(None)
    ("TIMESTAMP '2025-06-01 00:00:00'", "['it''s', 'b']", 'NULL')
    >>> sql_literal_value(dt.datetime(2025, 6, 1, 23, 59, 59, 999999))
    "TIMESTAMP '2025-06-01 23:59:59.999999'"
    """
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)) or (hasattr(value, "item") and not isinstance(value, str)):
        number = value.item() if hasattr(value, "item") else value
        return "NULL" if isinstance(number, float) and math.isnan(number) else str(number)
    if isinstance(value, dt.datetime):  # pandas Timestamps too; microseconds kept: moments end at 23:59:59.999999
        return f"TIMESTAMP '{value:%Y-%m-%d %H:%M:%S.%f}'" if value.microsecond else f"TIMESTAMP '{value:%Y-%m-%d %H:%M:%S}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(sql_literal_value(v) for v in value) + "]"
    return "'" + str(value).replace("'", "''") + "'"


def with_values(sql: str, params: dict[str, Any]) -> str:
    r"""``sql`` with each bound ``$name`` of ``params`` written as its literal (comment lines left as they are).

    >>> with_values("-- $a stays\nselect $a, $b", {"a": "x"})
    "-- $a stays\nselect 'x', $b"
    """
    def literal(match: re.Match[str]) -> str:
        name = match.group(1)
        return sql_literal_value(params[name]) if name in params else match.group(0)

    return "\n".join(
        line if line.lstrip().startswith("--") else re.sub(r"\$([A-Za-z_][A-Za-z0-9_]*)", literal, line)
        for line in sql.splitlines()
    )
