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



# ------------------------------------------------------------------ the archive keeps a copy
def _archived_files(store) -> list[Path]:
    folder = Path(store.path).parent / "archive"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_the_archive_is_a_copy_that_keeps_its_checksum(intake_store, tmp_path):
    import hashlib

    path = write(tmp_path, "orders.csv", ONE_ORDER)
    result = ingest_file(intake_store, "orders", path)
    assert result.status == "loaded"
    with open(path, "a") as handle:  # the export is appended to after the load
        handle.write("n2,A,2025-04-03 09:00:00,11.00,0,USD,web,paid\n")
    archived = Path(result.archive_path)
    assert archived.read_bytes() == ONE_ORDER.encode()
    assert hashlib.sha256(archived.read_bytes()).hexdigest() == result.sha256


@pytest.mark.parametrize("text, on_invalid", [
    (ONE_ORDER, "reject"),  # clean: the one-pass path archives inside the load's transaction
    (ONE_ORDER + "n9,A,2025-04-01,-5,0,USD,web,paid\n", "quarantine"),  # a failing row: the two-pass path
], ids=["one-pass", "two-pass"])
def test_a_load_failing_after_archiving_leaves_no_archive_file(intake_store, tmp_path, monkeypatch, text, on_invalid):
    from engagement.store import Store

    def fail_after_archiving(self, cur):  # the derived rebuild runs after the archive copy, before COMMIT
        raise RuntimeError("injected fault")

    monkeypatch.setattr(Store, "_refresh_derived", fail_after_archiving)
    with pytest.raises(RuntimeError, match="injected fault"):
        ingest_file(intake_store, "orders", write(tmp_path, "orders.csv", text), on_invalid=on_invalid)
    assert _archived_files(intake_store) == []
    assert table(intake_store, "SELECT count(*) AS n FROM loads WHERE kind = 'orders'").n[0] == 1  # the fixture's


_KILLED_LOAD = """
import os, signal, sys
import engagement.ingest as ingest
from engagement.store import Store
os.environ["ENGAGEMENT_VALIDATION_ENGINE"] = "duckdb"
where = sys.argv[3]
kill = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
if where == "before_commit":
    Store._refresh_derived = kill
else:  # committed, killed before the copy got its final name
    ingest._publish_archive = kill
ingest.ingest_file(Store.open(sys.argv[1], read_only=False), "orders", sys.argv[2])
"""


@pytest.mark.parametrize("where", ["before_commit", "after_commit"])
def test_a_load_killed_after_archiving_leaves_no_stray_archive(intake_store, tmp_path, where):
    import signal
    import subprocess
    import sys

    db = intake_store.path
    intake_store.close()
    export = write(tmp_path, "orders.csv", ONE_ORDER)
    done = subprocess.run([sys.executable, "-c", _KILLED_LOAD, db, str(export), where],
                          cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True)
    assert done.returncode == -signal.SIGKILL, done.stderr
    folder = Path(db).parent / "archive"
    assert [p.name for p in folder.iterdir() if not p.name.startswith(".")] == []  # nothing under a final name

    from engagement.store import Store

    store = Store.open(db, read_only=False)
    try:
        # The next load settles what the killed one left: a committed load gets its archive, a rolled-back
        # one leaves nothing.
        ingest_file(store, "orders", write(tmp_path, "other.csv", OTHER_ORDERS))
        recorded = table(store, "SELECT json_extract_string(validation_summary, '$.archive_path') AS p FROM loads "
                                "WHERE kind = 'orders' AND file_name = 'orders.csv'").p.tolist()
        files = sorted(str(p) for p in folder.iterdir())
        assert not any(Path(f).name.startswith(".") for f in files)
        if where == "before_commit":
            assert recorded == [] and len(files) == 1  # only other.csv's archive
        else:
            assert len(recorded) == 1 and recorded[0] in files and Path(recorded[0]).read_bytes() == ONE_ORDER.encode()
    finally:
        store.close()
