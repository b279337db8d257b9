"""What SQL a view ran, for "Show SQL" and notebooks: one :class:`QueryRecord` per run of a SQL file.

``Store.query`` records every run inside a :func:`record_queries` block. Some library code chains SQL files
inside DuckDB instead (RFM scores its customers and aggregates them in one plan; CLV reads one materialised
customer summary three times): the later file then reads the earlier one's result by a name, and its record
lists that under ``inputs``. :meth:`QueryRecord.statement` writes such a chain as one statement, the inputs as
CTEs, so what "Show SQL" prints can be pasted and run. A file that also reads a frame computed in Python
(model predictions) lists it under ``frames`` and cannot be re-run on its own.

Example
-------
>>> scores = QueryRecord("rfm/customer_scores", {"start": 1})
>>> grid = QueryRecord("rfm/score_grid", inputs=(("customer_scores", scores),))
>>> grid.statement().splitlines()[0], grid.all_params(), grid.runnable
('with customer_scores as (', {'start': 1}, True)
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from engagement.sql import read_sql


@dataclass(frozen=True)
class QueryRecord:
    """One run of a SQL file: its name (``area/name``), the parameters bound to it, and what it read.

    Parameters
    ----------
    name : str
        The file ``engagement/sql/<name>.sql``.
    params : dict
        The values bound to its ``$name`` parameters.
    inputs : tuple of (str, QueryRecord)
        Relations the file reads by name that another SQL file produced, as (name it is read as, that run).
    frames : tuple of (str, str)
        Relations the file reads that Python computed, as (name it is read as, what it holds).
    """

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    inputs: tuple[tuple[str, "QueryRecord"], ...] = ()
    frames: tuple[tuple[str, str], ...] = ()

    @property
    def sql(self) -> str:
        """The SQL file's text."""
        return read_sql(self.name)

    @property
    def runnable(self) -> bool:
        """Whether :meth:`statement` runs on its own (no input computed in Python)."""
        return not self.frames and all(record.runnable for _, record in self.inputs)

    def chain(self) -> list[tuple[str, "QueryRecord"]]:
        """Every input, inputs of inputs first, each once: the CTEs of :meth:`statement`, in order."""
        chain: list[tuple[str, QueryRecord]] = []
        for alias, record in self.inputs:
            for item in [*record.chain(), (alias, record)]:
                if item in chain:
                    continue
                if any(known == item[0] for known, _ in chain):
                    raise ValueError(f"{self.name}: two different inputs are read as {item[0]!r}.")
                chain.append(item)
        return chain

    def all_frames(self) -> list[tuple[str, str]]:
        """The Python-computed frames this run and its inputs read."""
        frames = list(self.frames)
        for _, record in self.chain():
            frames += [frame for frame in record.frames if frame not in frames]
        return frames

    def all_params(self) -> dict[str, Any]:
        """The parameters of this run and of its inputs (one name must mean one value)."""
        merged: dict[str, Any] = {}
        for record in [*(record for _, record in self.chain()), self]:
            for key, value in record.params.items():
                if key in merged and merged[key] != value:
                    raise ValueError(f"{self.name}: parameter ${key} has two values in its inputs.")
                merged[key] = value
        return merged

    def statement(self) -> str:
        """The SQL that gives this run's rows: the file itself, after its inputs as CTEs if it has any."""
        if not self.inputs:
            return self.sql
        ctes = ",\n".join(f"{alias} as (\n{record.sql.strip()}\n)" for alias, record in self.chain())
        return f"with {ctes}\nselect * from (\n{self.sql.strip()}\n)"


# Per thread: the lists that record_queries() is filling (nested recordings all receive the query).
_recording = threading.local()


@contextmanager
def record_queries() -> Iterator[list[QueryRecord]]:
    """Collect every ``Store.query`` this thread runs inside the block, in order.

    >>> from engagement.warehouse.store import Store
    >>> store = Store.open(":memory:")
    >>> with record_queries() as queries:
    ...     _ = store.query("intake/load_history", {"limit": 5})
    >>> [q.name for q in queries]
    ['intake/load_history']
    """
    stack = _recording.__dict__.setdefault("stack", [])
    queries: list[QueryRecord] = []
    stack.append(queries)
    try:
        yield queries
    finally:  # by identity: a nested recording may hold equal contents
        del stack[next(i for i, q in enumerate(stack) if q is queries)]


def note_query(record: QueryRecord) -> None:
    """Add ``record`` to every :func:`record_queries` block open on this thread."""
    for queries in getattr(_recording, "stack", ()):
        queries.append(record)
