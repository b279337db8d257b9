"""Uploads cannot take the server down or corrupt data (issue 14): names, archive copies, bombs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from engagement.intake.ingest import ingest_file

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


def test_a_parquet_file_named_like_a_pattern_read_where_it_is_takes_its_own_columns(tmp_path, monkeypatch):
    """Read in place (its folder readable by DuckDB's sandbox, so not copied into the upload spool), the file's
    columns are its own, not those of a sibling its name would match as a pattern and that sorts before it."""
    from engagement.workbench import open_workbench

    monkeypatch.setenv("ENGAGEMENT_VALIDATION_ENGINE", "duckdb")
    folder = tmp_path / "exports"
    folder.mkdir()
    columns = ORDERS_HEADER.split(",")
    pd.DataFrame([["n1", "A", "2025-04-01 09:00:00", "10.00", "0", "USD", "web", "paid"]],
                 columns=columns).to_parquet(folder / "p*.parquet")
    pd.DataFrame({"x": [1]}).to_parquet(folder / "p!.parquet")  # another layout, first in the pattern's order
    store = open_workbench(tmp_path / "db" / "engagement.duckdb", read_only=False, readable=(folder,))
    try:
        result = ingest_file(store, "orders", folder / "p*.parquet")
    finally:
        store.close()
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
    from engagement.warehouse.store import Store

    def fail_after_archiving(self, cur, change=None):  # the derived rebuild runs after the archive copy, before COMMIT
        raise RuntimeError("injected fault")

    monkeypatch.setattr(Store, "_refresh_derived", fail_after_archiving)
    with pytest.raises(RuntimeError, match="injected fault"):
        ingest_file(intake_store, "orders", write(tmp_path, "orders.csv", text), on_invalid=on_invalid)
    assert _archived_files(intake_store) == []
    assert table(intake_store, "SELECT count(*) AS n FROM loads WHERE kind = 'orders'").n[0] == 1  # the fixture's



def test_the_archive_copy_is_made_beside_the_read_and_kept_only_for_a_load(intake_store, tmp_path, monkeypatch):
    """The copy is written by the checksum's thread while DuckDB reads and validates the file (a 328 MB export's copy
    no longer waits for validation), and a file that is not loaded (rejected, or a fallback from the one-pass path to
    the two passes) leaves one archived copy at most: its own, once loaded."""
    import threading

    import engagement.intake.archive as archive

    threads = []
    copy = archive.archive_copy

    def recording_copy(*args):
        threads.append(threading.current_thread().name)
        return copy(*args)

    monkeypatch.setattr(archive, "archive_copy", recording_copy)
    failing = ONE_ORDER + "n9,A,2025-04-01,-5,0,USD,web,paid\n"
    rejected = ingest_file(intake_store, "orders", write(tmp_path, "bad.csv", failing))
    assert rejected.status == "rejected" and _archived_files(intake_store) == []
    assert ingest_file(intake_store, "orders", write(tmp_path, "bad2.csv", ONE_ORDER), dry_run=True).status == "valid"
    assert _archived_files(intake_store) == []  # a dry run makes no copy
    # a failing row: the one-pass attempt rolls back, the two passes load the valid row with the same copy
    loaded = ingest_file(intake_store, "orders", write(tmp_path, "quarantined.csv", failing), on_invalid="quarantine")
    assert loaded.status == "loaded", loaded.message
    assert _archived_files(intake_store) == [Path(loaded.archive_path)]
    assert len(threads) == 2 and all(name.startswith("sha256") for name in threads)



def test_a_spooled_upload_is_archived_by_a_link_not_a_copy(tmp_path, monkeypatch):
    """An upload (spooled by ingest_bytes, removed after the load) is nobody else's: the archive links it instead of
    copying its bytes, and keeps them, with their checksum, once the spool is gone."""
    import hashlib
    import shutil

    from engagement import config
    from engagement.intake.ingest import ingest_bytes
    from engagement.workbench import open_workbench

    monkeypatch.setenv("ENGAGEMENT_VALIDATION_ENGINE", "duckdb")
    monkeypatch.setattr(config, "SPOOL_DIR", tmp_path / "spool")  # beside the database: one file system
    store = open_workbench(tmp_path / "db" / "engagement.duckdb", read_only=False)
    copied = []
    monkeypatch.setattr(shutil, "copyfile", lambda *args: copied.append(args))
    try:
        result = ingest_bytes(store, "orders", ONE_ORDER.encode(), "orders.csv")
    finally:
        store.close()
    assert result.status == "loaded", result.message
    archived = Path(result.archive_path)
    assert copied == [] and archived.read_bytes() == ONE_ORDER.encode()
    assert archived.stat().st_nlink == 1  # the spooled upload was removed: the archive holds the only name
    assert hashlib.sha256(archived.read_bytes()).hexdigest() == result.sha256



def test_a_batch_keeps_archive_copies_only_when_it_commits(intake_store, tmp_path):
    """Files loaded in one transaction (a week's exports) are archived when the batch commits; a batch rolled back
    because one file is rejected leaves no archive copy of the files before it (their loads did not happen)."""
    from engagement.intake.ingest import ingest_files

    good = write(tmp_path, "good.csv", ONE_ORDER)
    bad = write(tmp_path, "bad.csv", OTHER_ORDERS.replace(",20.00,", ",-20.00,"))  # a negative amount: rejected
    rolled_back = ingest_files(intake_store, [("orders", good), ("orders", bad)])
    assert [r.status for r in rolled_back] == ["rejected", "rejected"]
    assert _archived_files(intake_store) == [] and all(r.archive_path is None for r in rolled_back)
    committed = ingest_files(intake_store, [("orders", good), ("orders", write(tmp_path, "other.csv", OTHER_ORDERS))])
    assert [r.status for r in committed] == ["loaded", "loaded"]
    assert _archived_files(intake_store) == sorted(Path(r.archive_path) for r in committed)
    assert [Path(r.archive_path).read_bytes() for r in committed] == [ONE_ORDER.encode(), OTHER_ORDERS.encode()]


_KILLED_LOAD = """
import os, signal, sys
import engagement.intake.archive as archive
import engagement.intake.ingest as ingest
from engagement.warehouse.store import Store
os.environ["ENGAGEMENT_VALIDATION_ENGINE"] = "duckdb"
where = sys.argv[3]
kill = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
if where == "before_commit":
    Store._refresh_derived = kill
else:  # committed, killed before the copy got its final name
    archive.publish_archive = kill
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

    from engagement.warehouse.store import Store

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


# ------------------------------------------------------------------ decompression bombs
def _gzip_bomb(path: Path, inflated_mb: int) -> Path:
    """A gzip CSV of one row repeated: about 1,000x smaller than its text (zlib on repeated input)."""
    import gzip

    block = (ORDERS_HEADER + "\n").encode() + b"b1,A,2025-04-01 09:00:00,10.00,0,USD,web,paid\n" * 22_000
    with gzip.open(path, "wb", compresslevel=9) as handle:
        for _ in range(inflated_mb):  # each block is about 1 MB
            handle.write(block[len(ORDERS_HEADER) + 1:] if _ else block)
    return path


def test_a_gzip_bomb_is_refused_before_it_is_read(intake_store, tmp_path, monkeypatch):
    from engagement.intake import inflated_size
    from engagement.intake import readers

    path = _gzip_bomb(tmp_path / "orders.csv.gz", inflated_mb=300)
    compressed = path.stat().st_size
    assert compressed < 2 * 1024 * 1024  # a ~300 MB text in well under 2 MB
    counted, opened = [], []
    real_size = inflated_size._gzip_size
    monkeypatch.setattr(inflated_size, "_gzip_size", lambda p, stop: counted.append(real_size(p, stop)) or counted[-1])
    monkeypatch.setattr(readers, "_read_delimited", lambda *a, **k: opened.append(a) or pytest.fail("read the bomb"))
    result = ingest_file(intake_store, "orders", path)
    assert result.status == "rejected"
    assert "ENGAGEMENT_MAX_INFLATION_RATIO" in result.message and "decompression bomb" in result.message
    # The count stopped one chunk past the bound (100 x the compressed size, about 90 MB), not at 300 MB.
    assert counted[0] <= inflated_size.inflation_bound(compressed) + 1024 * 1024 < 150 * 1024 * 1024
    assert not opened
    assert table(intake_store, "SELECT count(*) AS n FROM loads WHERE kind = 'orders'").n[0] == 1  # the fixture's


def test_a_gzip_bomb_does_not_grow_the_process(tmp_path):
    """The same bomb read in a fresh process: its peak memory stays far below the 300 MB the file inflates to
    (a loose bound: the interpreter, DuckDB and pandas alone take about 200 MB)."""
    import subprocess
    import sys

    path = _gzip_bomb(tmp_path / "orders.csv.gz", inflated_mb=300)
    script = (
        "import os, resource, sys\n"
        "os.environ['ENGAGEMENT_VALIDATION_ENGINE'] = 'duckdb'\n"
        "from engagement.warehouse.store import Store\n"
        "from engagement.intake.ingest import ingest_file\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "result = ingest_file(Store.open(':memory:', read_only=False), 'orders', sys.argv[1])\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(result.status, (after - before) // 1024)\n"  # ru_maxrss is in KB on Linux
    )
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1])
    status, grew_mb = done.stdout.split()
    assert status == "rejected" and int(grew_mb) < 150, done.stdout + done.stderr


def _xlsx_with_padding(path: Path, padding_mb: int) -> Path:
    """A valid workbook plus one member of zeros that inflates to ``padding_mb``."""
    import zipfile

    pd.DataFrame([ONE_ORDER.splitlines()[1].split(",")], columns=ORDERS_HEADER.split(",")).to_excel(path, index=False)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", b"\0" * (padding_mb * 1024 * 1024))
    return path


def test_an_xlsx_that_inflates_past_the_limit_is_refused_with_the_limit_named(intake_store, tmp_path, monkeypatch):
    from engagement.intake.ingest import detect_kind

    monkeypatch.setenv("ENGAGEMENT_MAX_INFLATED_MB", "2")
    path = _xlsx_with_padding(tmp_path / "orders.xlsx", padding_mb=3)
    result = ingest_file(intake_store, "orders", path)
    assert result.status == "rejected"
    assert "2 MB limit" in result.message and "ENGAGEMENT_MAX_INFLATED_MB" in result.message
    # The Data page's header peek does not inflate it either (openpyxl would read it whole).
    assert detect_kind(path.read_bytes(), "orders.xlsx")[2] == ()


def test_a_parquet_file_over_the_inflated_limit_is_refused(intake_store, tmp_path, monkeypatch):
    monkeypatch.setenv("ENGAGEMENT_MAX_INFLATED_MB", "1")
    columns = ORDERS_HEADER.split(",")
    padded = "paid" + "x" * 100
    rows = [[f"q{i}", "A", "2025-04-01 09:00:00", "10.00", "0", "USD", "web", padded] for i in range(20_000)]
    path = tmp_path / "orders.parquet"
    # Without dictionary encoding the row groups record the plain size: 20,000 x ~170 bytes, about 3.3 MB.
    pd.DataFrame(rows, columns=columns).to_parquet(path, compression="zstd", use_dictionary=False)
    assert path.stat().st_size < 1024 * 1024  # compressed under the limit
    result = ingest_file(intake_store, "orders", path)
    assert result.status == "rejected" and "1 MB limit" in result.message, result.message


def test_quarantine_is_bounded(intake_store, tmp_path, monkeypatch):
    monkeypatch.setenv("ENGAGEMENT_MAX_QUARANTINE_ROWS", "2")
    bad = "".join(f"bad{i},A,2025-04-01,-5,0,USD,web,paid\n" for i in range(3))  # negative revenue fails
    refused = ingest_file(intake_store, "orders", write(tmp_path, "a.csv", ONE_ORDER + bad), on_invalid="quarantine")
    assert refused.status == "rejected" and refused.rows_read == 4
    assert "3 of 4 rows fail" in refused.message and "ENGAGEMENT_MAX_QUARANTINE_ROWS" in refused.message
    assert "2 rows" in refused.message
    assert table(intake_store, "SELECT count(*) AS n FROM quarantine").n[0] == 0
    # At the limit the file loads, its two failing rows kept.
    kept = ingest_file(intake_store, "orders", write(tmp_path, "b.csv", ONE_ORDER + bad.split("\n", 1)[1]),
                       on_invalid="quarantine")
    assert kept.status == "loaded" and kept.summary.rows_quarantined == 2
