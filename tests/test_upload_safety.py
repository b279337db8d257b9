"""Uploads cannot take the server down or corrupt data (issue 14): names, archive copies, bombs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from engagement.ingest import ingest_file

from intake_fixtures import ORDERS_HEADER, intake_store, table, write  # noqa: F401

ONE_ORDER = ORDERS_HEADER + "\nn1,A,2025-04-01 09:00:00,10.00,0,USD,web,paid\n"
OTHER_ORDERS = ORDERS_HEADER + "\nx1,B,2025-04-02 09:00:00,20.00,0,USD,web,paid\nx2,C,2025-04-02,30,0,USD,web,paid\n"


# ------------------------------------------------------------------ a file name is a name
@pytest.mark.parametrize("name, sibling", [
    ("g*.csv", "g1.csv"),     # '*' would match the sibling too (both files read: 3 rows)
    ("h?.csv", "h1.csv"),     # '?' likewise
    ("[ab].csv", "a.csv"),    # '[ab]' matches a.csv, not itself: the sibling read instead of the file
])
def test_a_file_named_like_a_pattern_reads_only_itself(intake_store, tmp_path, name, sibling):
    folder = tmp_path / "exports"
    folder.mkdir()
    path = write(folder, name, ONE_ORDER)
    write(folder, sibling, OTHER_ORDERS)
    result = ingest_file(intake_store, "orders", path)
    assert result.status == "loaded", result.message
    assert result.rows_read == 1
    assert table(intake_store, "SELECT order_id FROM orders WHERE order_id IN ('n1', 'x1', 'x2')").order_id.tolist() \
        == ["n1"]


def test_a_parquet_file_named_like_a_pattern_reads_only_itself(intake_store, tmp_path):
    columns = ORDERS_HEADER.split(",")
    mine = pd.DataFrame([["n1", "A", "2025-04-01 09:00:00", "10.00", "0", "USD", "web", "paid"]], columns=columns)
    other = pd.DataFrame([["x1", "B", "2025-04-02 09:00:00", "20.00", "0", "USD", "web", "paid"]], columns=columns)
    mine.to_parquet(tmp_path / "p*.parquet")
    other.to_parquet(tmp_path / "p1.parquet")
    result = ingest_file(intake_store, "orders", tmp_path / "p*.parquet")
    assert result.status == "loaded" and result.rows_read == 1, result.message


def test_cli_ingest_of_a_pattern_name_reads_only_that_file(intake_store, tmp_path, capsys):
    from engagement.cli import main

    db = intake_store.path
    intake_store.close()
    path = write(tmp_path, "g*.csv", ONE_ORDER)
    write(tmp_path, "g1.csv", OTHER_ORDERS)
    assert main(["ingest", "orders", str(path), "--db", db]) == 0
    assert json.loads(capsys.readouterr().out)["rows_read"] == 1

