"""Every view as a Jupyter notebook: the same library calls with the same filters, and the SQL they ran.

A view describes itself as a :class:`ViewRecipe`: a title and the library calls that produce its numbers
(:class:`LibraryCall`: a function of ``engagement`` taking the store first, and its arguments as values).
Each call carries the SQL files and bound parameters it ran (recorded by ``store.record_queries``), so
the notebook shows the exact SQL and can re-run it. :func:`build_notebook` turns a recipe into an
``nbformat`` notebook; arguments become Python source with :func:`to_source`.

A page adds "Open as notebook" and "Show SQL" after its ``ui.view_data`` calls, with the same arguments
(the SQL comes from the same cache entry, so this costs nothing)::

    recipe = ui.view_recipe("Cohorts", LibraryCall.of(retention_matrix, filters, grain, result_name="matrix"),
                            filters=filters)
    ui.view_exports(recipe)

Only SQL run through ``store.query`` on the calling thread is recorded, and what library code notes with
``store.remember_query`` when it runs SQL files through DuckDB's relation API (RFM, CLV; see
``engagement/warehouse/query_records.py`` for how a chain of files is shown and re-run).

Example
-------
>>> from datetime import date
>>> from engagement.filters import Filters
>>> from engagement.value.kpis import overview_kpis
>>> filters = Filters(date(2025, 1, 1), date(2025, 3, 31))
>>> recipe = ViewRecipe("Overview", (LibraryCall.of(overview_kpis, filters),), filters=filters)
>>> "overview_kpis(store, filters)" in notebook_text(recipe, "data/engagement.duckdb")
True
"""

from __future__ import annotations

import atexit
import dataclasses
import datetime as dt
import enum
import importlib
import json
import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import duckdb
import pandas as pd

from engagement.filters import Filters
from engagement.sql import sql_literal_value, with_values
from engagement.warehouse.errors import StoreLockedError
from engagement.warehouse.query_records import QueryRecord
from engagement.warehouse.store import Store

NOTEBOOK_KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


# ------------------------------------------------------------------ recipes
@dataclass(frozen=True)
class LibraryCall:
    """``result_name = module.function(store, *args, **kwargs)``, and the SQL it ran (``queries``).

    ``show`` names attributes of the result (``"segments"``, ``"holdout.bins"``) that the notebook displays
    after the result's own table, each in a cell of its own: the tables the page shows.
    """

    module: str
    function: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()
    note: str = ""
    result_name: str = ""
    queries: tuple[QueryRecord, ...] = ()
    show: tuple[str, ...] = ()

    @classmethod
    def of(cls, function: Callable[..., Any], *args: Any, note: str = "", result_name: str = "",
           show: tuple[str, ...] = (), **kwargs: Any) -> "LibraryCall":
        """Describe ``function(store, *args, **kwargs)``; ``function`` must live in an importable module."""
        if "." in function.__qualname__ or function.__module__ == "__main__":
            raise ValueError(f"{function.__qualname__} is not a module-level function; a notebook cannot import it.")
        if not all(re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", name) for name in show):
            raise ValueError(f"show takes attribute names such as 'segments' or 'holdout.bins', not {show!r}.")
        return cls(function.__module__, function.__qualname__, tuple(args), tuple(sorted(kwargs.items())),
                   note=note, result_name=result_name, show=tuple(show))

    @property
    def callable(self) -> Callable[..., Any]:
        return getattr(importlib.import_module(self.module), self.function)

    @property
    def variable(self) -> str:
        return self.result_name or f"{self.function}_result"

    def with_queries(self, queries: tuple[QueryRecord, ...] | list[QueryRecord]) -> "LibraryCall":
        return dataclasses.replace(self, queries=tuple(queries))


@dataclass(frozen=True)
class ViewRecipe:
    """How to reproduce one view: its calls (in order) and, for the SQL notebook, its cells' SQL."""

    title: str
    calls: tuple[LibraryCall, ...] = ()
    description: str = ""
    filters: Filters | None = None
    sql_cells: tuple[str, ...] = ()

    def queries(self) -> list[QueryRecord]:
        """Every SQL file run by the calls, once per distinct (file, parameters), in order."""
        seen: list[QueryRecord] = []
        for call in self.calls:
            for query in call.queries:
                if query not in seen:
                    seen.append(query)
        return seen


def file_name(recipe: ViewRecipe) -> str:
    """``overview-kpis.ipynb`` from the title ``Overview KPIs``."""
    slug = re.sub(r"[^a-z0-9]+", "-", recipe.title.lower()).strip("-") or "view"
    return f"{slug}.ipynb"


# ------------------------------------------------------------- source code
def to_source(value: Any, imports: set[str] | None = None) -> str:
    """Python source that rebuilds ``value``; the imports it needs are added to ``imports``.

    >>> imports = set()
    >>> to_source(Filters(dt.date(2025, 1, 1), dt.date(2025, 1, 31), channels=("email",)), imports)
    "Filters(start=datetime.date(2025, 1, 1), end=datetime.date(2025, 1, 31), channels=('email',), segments=())"
    >>> sorted(imports)
    ['from engagement.filters import Filters', 'import datetime']
    """
    imports = imports if imports is not None else set()
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "float('nan')"
        if math.isinf(value):
            return "float('inf')" if value > 0 else "float('-inf')"
        return repr(value)
    if isinstance(value, pd.Timestamp):
        imports.add("import pandas as pd")
        return f"pd.Timestamp({value.isoformat()!r})"
    if isinstance(value, (dt.date, dt.datetime, dt.time, dt.timedelta)):
        imports.add("import datetime")
        return repr(value)
    if isinstance(value, Decimal):
        imports.add("from decimal import Decimal")
        return repr(value)
    if isinstance(value, enum.Enum):
        imports.add(f"from {type(value).__module__} import {type(value).__qualname__}")
        return f"{type(value).__qualname__}.{value.name}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        imports.add(f"from {cls.__module__} import {cls.__qualname__}")
        parts = [f"{f.name}={to_source(getattr(value, f.name), imports)}" for f in dataclasses.fields(value) if f.init]
        return f"{cls.__qualname__}({', '.join(parts)})"
    if isinstance(value, tuple):
        items = [to_source(v, imports) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(value, list):
        return "[" + ", ".join(to_source(v, imports) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{to_source(k, imports)}: {to_source(v, imports)}" for k, v in value.items()) + "}"
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        return to_source(value.item(), imports)
    raise TypeError(f"Cannot write a {type(value).__name__} as notebook code; pass plain values or dataclasses.")


def sql_literal(sql: str) -> str:
    """A Python string literal for ``sql``: triple-quoted when that is safe, else ``repr``."""
    if '"""' not in sql and "\\" not in sql and not sql.endswith('"'):
        return '"""\n' + sql.strip("\n") + '\n"""'
    return repr(sql)


def _call_source(call: LibraryCall, recipe: ViewRecipe, imports: set[str]) -> str:
    def arg(value: Any) -> str:
        return "filters" if recipe.filters is not None and value == recipe.filters else to_source(value, imports)

    arguments = ["store", *(arg(a) for a in call.args), *(f"{k}={arg(v)}" for k, v in call.kwargs)]
    return f"{call.variable} = {call.function}({', '.join(arguments)})"


# ----------------------------------------------------------------- building
def build_notebook(recipe: ViewRecipe, db_path: str | os.PathLike[str], opener: str | None = None):
    """An ``nbformat`` v4 notebook reproducing ``recipe`` against the database at ``db_path``, or, given
    ``opener`` (Python source that sets ``store``: warehouse mode's, ``engagement.ui.warehouse``), against that."""
    import nbformat
    from nbformat import v4

    cells = [v4.new_markdown_cell(_header(recipe))]
    setup_imports = {"from engagement.notebook.export import as_frame, open_store"}
    setup = []
    if recipe.filters is not None:
        setup.append(f"filters = {to_source(recipe.filters, setup_imports)}")
    opening = opener or (
        "# The database the workbench read. Opened read-only; when the workbench app holds it for\n"
        "# writing, open_store reads a snapshot copy instead (it says so).\n"
        f"DB_PATH = {str(db_path)!r}\n"
        "store = open_store(DB_PATH)\n")
    cells.append(v4.new_code_cell(
        "\n".join(sorted(setup_imports)) + "\n\n" + opening + ("\n".join(setup) + "\n" if setup else "")
    ))
    for call in recipe.calls:
        imports: set[str] = {f"from {call.module} import {call.function}"}
        line = _call_source(call, recipe, imports)
        cells.append(v4.new_markdown_cell(f"## {call.note or call.function.replace('_', ' ').capitalize()}"))
        cells.append(v4.new_code_cell("\n".join(sorted(imports)) + "\n\n" + line + f"\nas_frame({call.variable})"))
        cells.extend(v4.new_code_cell(f"{call.variable}.{name}") for name in call.show)
        cells.extend(_sql_cells(call))
    for number, sql in enumerate(recipe.sql_cells, start=1):
        cells.append(v4.new_markdown_cell(f"## Cell {number}\n\n```sql\n{sql.strip()}\n```"))
        cells.append(v4.new_code_cell(
            "from engagement.notebook.sql_safety import run_query\n\n"
            f"cell_{number} = run_query(store, {sql_literal(sql)})\n"
            f"print(cell_{number}.summary())\ncell_{number}.frame"
        ))
    notebook = v4.new_notebook(cells=cells, metadata={
        "kernelspec": NOTEBOOK_KERNEL, "language_info": {"name": "python"},
    })
    nbformat.validate(notebook)
    return notebook


def _header(recipe: ViewRecipe) -> str:
    lines = [f"# {recipe.title}", ""]
    if recipe.description:
        lines += [recipe.description, ""]
    lines.append(f"Exported from Engagement Workbench on {dt.datetime.now():%d %b %Y %H:%M}. Run all cells to "
                 "reproduce the view's numbers with the `engagement` library (run Jupyter from the project "
                 "folder, or with the package installed).")
    f = recipe.filters
    if f is not None:
        lines += ["", f"**Filters:** {f.start:%d %b %Y} – {f.end:%d %b %Y} ({f.days} days); acquisition channel: "
                  f"{', '.join(f.channels) or 'all'}; segment: {', '.join(f.segments) or 'all'}."]
    return "\n".join(lines)


def _sql_cells(call: LibraryCall) -> list:
    from nbformat import v4

    cells = []
    distinct: list[QueryRecord] = []
    for query in call.queries:
        if query not in distinct:
            distinct.append(query)
    for query in distinct:
        imports: set[str] = set()
        params = to_source(query.all_params(), imports)
        reads = "".join(f"\n\nIt reads `{alias}`, the result of `engagement/sql/{record.name}.sql` (a CTE below)."
                        for alias, record in query.chain())
        reads += "".join(f"\n\nIt reads `{alias}`: {what}. This SQL does not run on its own; the library "
                         "call above reproduces its result." for alias, what in query.all_frames())
        cells.append(v4.new_markdown_cell(
            f"SQL it ran: `engagement/sql/{query.name}.sql` with parameters `{params}`{reads}\n\n"
            f"```sql\n{query.statement().strip()}\n```"
        ))
        if not query.runnable:
            continue
        if query.inputs:
            own_params = to_source(query.params, imports)
            code = f"store.query({query.name!r}, {own_params}, inputs={to_source(query.inputs, imports)})"
        else:
            code = f"store.query({query.name!r}, {params})"
        prefix = "\n".join(sorted(imports)) + "\n\n" if imports else ""
        cells.append(v4.new_code_cell(prefix + code))
    return cells


def notebook_text(recipe: ViewRecipe, db_path: str | os.PathLike[str], opener: str | None = None) -> str:
    """The ``.ipynb`` file's JSON text."""
    import nbformat

    return nbformat.writes(build_notebook(recipe, db_path, opener))


def sql_with_values(query: QueryRecord) -> str:
    """The query's SQL with each ``$name`` replaced by its value: what ran, ready to paste into a SQL cell."""
    return with_values(query.statement(), query.all_params())


def sql_text(query: QueryRecord) -> str:
    """The SQL of a recorded query, its parameters listed on top and filled in (for "Show SQL")."""
    params = "\n".join(f"--   ${k} = {sql_literal_value(v)}" for k, v in query.all_params().items())
    reads = "".join(f"-- reads `{alias}`: engagement/sql/{record.name}.sql, as a CTE below\n"
                    for alias, record in query.chain())
    reads += "".join(f"-- reads `{alias}`: {what} (not in the database: this SQL does not run on its own)\n"
                     for alias, what in query.all_frames())
    head = f"-- engagement/sql/{query.name}.sql\n" + reads + (
        f"-- parameters (filled in below):\n{params}\n" if params else "")
    return head + sql_with_values(query).strip()


# ------------------------------------------------------- used in notebooks
def open_store(path: str | os.PathLike[str], notice: Callable[[str], Any] = print) -> Store:
    """Open the workbench database read-only; if another process holds it for writing, a snapshot copy.

    DuckDB refuses a read-only connection to a file another process writes. The writer's latest published
    snapshot (``warehouse/snapshots.py``, consistent by construction) is read when there is one; otherwise a
    copy of the file (with its write-ahead log) is the data as of the copy. ``notice`` receives the sentence
    saying which.
    """
    from engagement.warehouse import snapshots

    try:
        return Store.open(path, read_only=True)
    except StoreLockedError:
        pass
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
    try:
        store = snapshots.open_latest(path)
        notice(f"The workbench app holds {path} for writing; reading {store.snapshot_of.describe()}.")
        return store
    except LookupError:
        pass
    folder = Path(tempfile.mkdtemp(prefix="engagement-snapshot-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)  # a snapshot can be large: never leave it behind
    snapshot = folder / Path(path).name
    shutil.copyfile(path, snapshot)
    if Path(f"{path}.wal").exists():
        shutil.copyfile(f"{path}.wal", f"{snapshot}.wal")
    notice(f"The workbench app holds {path} for writing; reading a snapshot copied at "
           f"{dt.datetime.now():%H:%M:%S} ({snapshot}).")
    return Store.open(snapshot, read_only=True)


def as_frame(result: Any) -> pd.DataFrame:
    """A table to look at for any view result: frames as they are, dataclasses as rows or fields.

    >>> from engagement.value.kpis import Kpi
    >>> as_frame([Kpi("nps", 12.0, 100, 1.0, 20.0, 10.0, 90, "score")])[["key", "value", "n"]]
       key  value    n
    0  nps   12.0  100
    """
    if isinstance(result, pd.DataFrame):
        return result
    if isinstance(result, pd.Series):
        return result.to_frame()
    if isinstance(result, (list, tuple)) and result and all(dataclasses.is_dataclass(r) for r in result):
        return pd.DataFrame([_scalar_fields(r) for r in result])
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        fields = _scalar_fields(result)
        return pd.DataFrame({"field": list(fields), "value": [_plain(v) for v in fields.values()]})
    if isinstance(result, dict):
        return pd.DataFrame({"field": list(result), "value": [_plain(v) for v in result.values()]})
    return pd.DataFrame({"value": [result]})


def _scalar_fields(obj: Any) -> dict[str, Any]:
    """A dataclass's fields that fit in a table cell (frames and nested results are left out)."""
    return {
        f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)
        if not isinstance(getattr(obj, f.name), (pd.DataFrame, pd.Series, dict))
        and not dataclasses.is_dataclass(getattr(obj, f.name))
    }


def _plain(value: Any) -> Any:
    return json.dumps(value, default=str) if isinstance(value, (list, tuple)) else value
