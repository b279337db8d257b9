"""``lake export`` and the table mapping, without Spark: the Parquet a lake export writes, the mapping it
writes beside it, and the errors a bad mapping or bad warehouse options give (before any Spark starts)."""

from __future__ import annotations

import contextlib
import io

import pyarrow.dataset as ds
import pytest

from engagement.cli import main
from engagement.warehouse.lake import MappingError, export_lake, lake_mapping, parse_mapping, read_mapping
from engagement.warehouse.schema import KINDS, TABLES


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def test_lake_export_writes_every_canonical_table_and_partitions_orders_by_month(hand_store, tmp_path):
    counts = export_lake(hand_store.cursor(), tmp_path / "lake")
    assert counts == {kind: n for kind, n in hand_store.table_counts().items()}
    orders = ds.dataset(tmp_path / "lake" / "orders", format="parquet", partitioning="hive").to_table()
    # The hand fixture's six orders (tests/conftest.py) fall in four months: 2024-12, 2025-01, -02 and -03.
    assert sorted(p.name for p in (tmp_path / "lake" / "orders").iterdir()) == [
        "month=2024-12", "month=2025-01", "month=2025-02", "month=2025-03"]
    assert orders.num_rows == 6 and set(orders.column_names) == {*TABLES["orders"].column_names, "month"}
    assert str(orders.schema.field("net_revenue").type) == "decimal128(18, 2)"  # money stays exact
    empty = ds.dataset(tmp_path / "lake" / "messages", format="parquet").to_table()  # no messages: a schema
    assert empty.num_rows == 0 and empty.column_names == TABLES["messages"].column_names
    mapping = read_mapping(tmp_path / "lake" / "mapping.toml")
    assert set(mapping.sources) == set(KINDS)
    assert mapping.sources["orders"].location == str((tmp_path / "lake" / "orders").resolve())
    assert lake_mapping(tmp_path / "lake").sources == mapping.sources


@pytest.mark.parametrize("text, message", [
    ("[tables.order]\nparquet = 'x'", "not a canonical table"),
    ("[tables.orders]\nparquet = 'x'\ntable = 'y'", "exactly one of table, parquet or sql"),
    ("[tables.orders]\nparquet = 'x'", "does not map customers"),
    ("[tables.customers]\nparquet = 'x'\n[tables.customers.columns]\nid = 'customer'", "not columns of customers"),
    ("tables = 3", "no [tables.<name>] entries"),
    ("[tables", "not valid TOML"),
])
def test_a_bad_mapping_says_what_is_wrong(text, message):
    with pytest.raises(MappingError, match=message.replace("[", r"\[")):
        parse_mapping(text)


def test_warehouse_options_refuse_before_starting_spark(tmp_path):
    code, _, err = _run(["report", "kpis", "--engine", "spark", "--lake", str(tmp_path / "missing")])
    assert code == 1 and "No lake folder" in err and "lake export" in err
    code, _, err = _run(["report", "kpis", "--engine", "duckdb", "--lake", str(tmp_path)])
    assert code == 1 and "use them with --engine spark" in err
    code, _, err = _run(["report", "kpis", "--engine", "spark"])
    assert code == 1 and "--lake DIR" in err and "--mapping FILE" in err
    code, _, err = _run(["validate"])
    assert code == 1 and "validate needs KIND FILE" in err
