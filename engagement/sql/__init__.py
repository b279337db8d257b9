"""SQL files, one query per file, grain stated in the first comment line.

Values are always bound as parameters (``$name``), never formatted into the text.
"""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def read_sql(name: str) -> str:
    """Text of ``engagement/sql/<name>.sql`` (``name`` may contain a sub-folder: ``kpis/window``)."""
    path = resources.files("engagement.sql").joinpath(*f"{name}.sql".split("/"))
    return path.read_text(encoding="utf-8")
