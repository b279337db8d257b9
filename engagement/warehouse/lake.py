r"""From embedded to lake: the canonical tables as Parquet, and the table mapping warehouse mode reads.

``export_lake`` writes each canonical table of a DuckDB store to ``DIR/<table>/`` as Parquet; the large
time-stamped tables (orders, events, messages, surveys) are partitioned by month (``month=YYYY-MM``
folders), so that a Spark job reading a date window can skip whole months.

A *table mapping* (TOML) says where each canonical table lives in the brand's warehouse, as GrowthBook maps a
warehouse's tables to its metrics. One ``[tables.<canonical>]`` entry per table, with exactly one source:

.. code-block:: toml

    [tables.orders]
    table = "shop.sales.orders"                      # a table in the Spark catalog
    [tables.orders.columns]                          # canonical column = the brand's column
    order_id = "id"
    ordered_at = "created_ts"

    [tables.customers]
    parquet = "/lake/customers"                      # a Parquet folder or file

    [tables.surveys]
    sql = "select * from crm.answers where source = 'typeform'"   # a SQL view over the brand's tables

Columns absent from the source are read as NULL when the canonical schema allows it (optional columns);
a missing required column is a :class:`MappingError`. Every column is cast to the canonical type, so a
report sees the same types whatever the source. The mapping is only ever read from: warehouse mode never
writes to the brand's tables.

>>> m = parse_mapping('[tables.orders]\nparquet = "/x/orders"\n[tables.orders.columns]\norder_id = "id"\n'
...                   '[tables.customers]\nparquet = "/x/customers"')
>>> m.sources["orders"].kind, m.sources["orders"].columns
('parquet', {'order_id': 'id'})
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from engagement.warehouse.schema import KINDS, TABLES

# Tables written partitioned by month of this column: the tables a date window filters and that grow with time.
PARTITION_COLUMNS = {"orders": "ordered_at", "events": "occurred_at", "messages": "sent_at",
                     "surveys": "responded_at"}
SOURCE_KINDS = ("table", "parquet", "sql")


class MappingError(ValueError):
    """A table mapping that cannot be read, or that does not give a required table or column."""


@dataclass(frozen=True)
class TableSource:
    """Where one canonical table comes from: ``kind`` (table, parquet or sql), ``location`` (a table name, a
    path or a query) and ``columns`` (canonical column -> the source's column, for the columns named otherwise)."""

    kind: str
    location: str
    columns: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TableMapping:
    """The canonical tables' sources; ``origin`` says where the mapping came from (for messages)."""

    sources: dict[str, TableSource]
    origin: str = "table mapping"


def parse_mapping(text: str, origin: str = "table mapping", base: Path | None = None) -> TableMapping:
    """A :class:`TableMapping` from TOML text; relative Parquet paths are resolved against ``base``."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{origin} is not valid TOML: {exc}") from None
    tables = raw.get("tables")
    if not isinstance(tables, dict) or not tables:
        raise MappingError(f"{origin} has no [tables.<name>] entries; name at least customers and orders.")
    sources: dict[str, TableSource] = {}
    for name, entry in tables.items():
        if name not in TABLES:
            raise MappingError(f"{origin}: [tables.{name}] is not a canonical table; they are {', '.join(KINDS)}.")
        given = [kind for kind in SOURCE_KINDS if kind in entry]
        if len(given) != 1 or not isinstance(entry[given[0]], str) or not entry[given[0]].strip():
            raise MappingError(f"{origin}: [tables.{name}] needs exactly one of table, parquet or sql (a string).")
        columns = entry.get("columns", {})
        if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
            raise MappingError(f"{origin}: [tables.{name}.columns] maps canonical columns to the source's names.")
        unknown = sorted(set(columns) - set(TABLES[name].column_names))
        if unknown:
            raise MappingError(f"{origin}: [tables.{name}.columns] names {unknown}, not columns of {name}.")
        location = entry[given[0]]
        if given[0] == "parquet" and base is not None and not Path(location).is_absolute():
            location = str((base / location).resolve())
        sources[name] = TableSource(given[0], location, dict(columns))
    for required in ("customers", "orders"):
        if required not in sources:
            raise MappingError(f"{origin} does not map {required}; every view reads it.")
    return TableMapping(sources, origin)


def read_mapping(path: str | Path) -> TableMapping:
    """The mapping in the TOML file at ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"Cannot read the table mapping {path}: {exc.strerror}.") from None
    return parse_mapping(text, origin=f"the table mapping {path}", base=path.parent)


def lake_mapping(folder: str | Path) -> TableMapping:
    """The mapping onto the folders ``lake export`` wrote (``--lake DIR``): one Parquet folder per table
    present, canonical column names."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MappingError(f"No lake folder at {folder}. Write one with `python -m engagement lake export {folder}`.")
    sources = {kind: TableSource("parquet", str((folder / kind).resolve())) for kind in KINDS
               if (folder / kind).is_dir()}
    missing = [kind for kind in ("customers", "orders") if kind not in sources]
    if missing:
        raise MappingError(f"{folder} has no {' or '.join(missing)} folder; is it a folder `lake export` wrote?")
    return TableMapping(sources, origin=f"the lake {folder}")


def configured_mapping(lake: str | Path | None = None, mapping: str | Path | None = None) -> TableMapping:
    """The tables warehouse mode reads, for the CLI and the app alike: ``lake`` (``--lake``), else ``mapping``
    (``--mapping``), else ``$ENGAGEMENT_LAKE`` (a folder ``lake export`` wrote), else
    ``$ENGAGEMENT_TABLE_MAPPING`` (a TOML table mapping). MappingError when none is given."""
    lake = lake or (None if mapping else os.environ.get("ENGAGEMENT_LAKE", "").strip())
    mapping = mapping or os.environ.get("ENGAGEMENT_TABLE_MAPPING", "").strip()
    if lake:
        return lake_mapping(lake)
    if mapping:
        return read_mapping(mapping)
    raise MappingError("Warehouse mode needs the brand's tables: --lake DIR or $ENGAGEMENT_LAKE (folders `lake "
                       "export` wrote), or --mapping FILE or $ENGAGEMENT_TABLE_MAPPING (a table mapping, see "
                       "docs/warehouse.md).")


def mapping_toml(mapping: TableMapping) -> str:
    """The mapping as TOML text (``lake export`` writes one beside the tables, as a starting point)."""
    lines = []
    for name, source in mapping.sources.items():
        lines += [f"[tables.{name}]", f"{source.kind} = {_toml_string(source.location)}"]
        if source.columns:
            lines.append(f"[tables.{name}.columns]")
            lines += [f"{k} = {_toml_string(v)}" for k, v in source.columns.items()]
        lines.append("")
    return "\n".join(lines)


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def export_lake(cursor, folder: str | Path) -> dict[str, int]:
    """Write every canonical table read through DuckDB ``cursor`` to ``folder/<table>/`` as Parquet and a
    ``mapping.toml`` naming them; returns the rows written per table. Existing table folders are replaced.

    Rows leave DuckDB as Arrow (the store's sandbox lets DuckDB write nothing outside ``data/``, and this
    command writes where the user asked), in batches, so memory holds one batch, not the table.
    """
    import shutil

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for kind in KINDS:
        spec = TABLES[kind]
        columns = ", ".join(f'"{c}"' for c in spec.column_names)
        # Ordered by the natural key: the files are the same for the same data, run after run.
        order = ", ".join(f'"{k}"' for k in spec.key)
        reader = cursor.sql(f'SELECT {columns} FROM "{kind}" ORDER BY {order}').to_arrow_reader(1_000_000)
        target = folder / kind
        if target.exists():
            shutil.rmtree(target)
        partition = PARTITION_COLUMNS.get(kind)
        written = 0

        def batches():
            nonlocal written
            for batch in reader:
                written += batch.num_rows
                if partition is None:
                    yield batch
                else:
                    month = pc.strftime(batch.column(partition), format="%Y-%m")
                    yield pa.RecordBatch.from_arrays([*batch.columns, month], names=[*batch.schema.names, "month"])

        schema = reader.schema if partition is None else reader.schema.append(pa.field("month", pa.string()))
        ds.write_dataset(
            batches(), target, schema=schema, format="parquet",
            partitioning=ds.partitioning(pa.schema([("month", pa.string())]), flavor="hive") if partition else None,
            existing_data_behavior="overwrite_or_ignore", basename_template="part-{i}.parquet",
        )
        if not any(target.rglob("*.parquet")):  # an empty table still gets a file: readers need its schema
            import pyarrow.parquet as pq

            target.mkdir(parents=True, exist_ok=True)
            pq.write_table(reader.schema.empty_table(), target / "part-0.parquet")
        counts[kind] = written
    (folder / "mapping.toml").write_text(
        "# Written by `python -m engagement lake export`: each canonical table's Parquet folder. Edit it to point\n"
        "# at the brand's own tables (table = \"catalog.schema.name\", or sql = \"select ...\") and rename columns\n"
        "# under [tables.<name>.columns] (canonical = \"brand column\").\n"
        + mapping_toml(TableMapping({k: TableSource("parquet", k) for k in KINDS}, "lake")), encoding="utf-8")
    return counts
