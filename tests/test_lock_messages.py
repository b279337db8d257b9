"""Lock messages say what to do in each case (issue 14), each tested with a second process holding the file.

The holder is a real second process with the database open; its command line is that of the app
(`... streamlit run app.py`) or of a workbench command (`... -m engagement ingest`), given as extra arguments
after `-c`, since the message reads who the holder is from its command line (/proc/PID/cmdline).
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from engagement.cli import main
from engagement.warehouse.errors import StoreLockedError
from engagement.warehouse.store import Store

from intake_fixtures import ORDERS_HEADER, write

ROOT = Path(__file__).resolve().parents[1]
HOLD = (
    "import sys\nfrom engagement.warehouse.store import Store\n"
    "store = Store.open(sys.argv[1], read_only=sys.argv[2] == 'ro')\n"
    "print('ready', flush=True)\nsys.stdin.read()\nstore.close()\n"
)


@contextmanager
def holder(db: Path, mode: str, *pretend_argv: str):
    """A second process holding ``db`` (``ro`` or ``rw``) until the block ends; yields its PID."""
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(db), mode, *pretend_argv], cwd=ROOT,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert process.stdout.readline().strip() == "ready"  # the file is held from here on
        yield process.pid
    finally:
        process.stdin.close()
        process.wait(timeout=60)


@pytest.fixture()
def db(tmp_path) -> Path:
    path = tmp_path / "engagement.duckdb"
    Store.open(path, read_only=False).close()
    return path


def _ingest(db: Path, tmp_path: Path, capsys) -> str:
    export = write(tmp_path, "orders.csv", ORDERS_HEADER + "\no1,A,2025-04-01,10,0,USD,web,paid\n")
    assert main(["ingest", "orders", str(export), "--db", str(db)]) == 1
    return capsys.readouterr().err


def test_a_load_while_a_read_only_app_has_the_file_says_to_stop_it(db, tmp_path, capsys):
    with holder(db, "ro", "streamlit", "run", "app.py") as pid:
        err = _ingest(db, tmp_path, capsys)
    assert f"open read-only in the workbench app (PID {pid})" in err
    assert "cannot write a file that any other process has open, even read-only" in err
    assert "Stop that process" in err and "start it again" in err


def test_a_cli_load_while_the_app_runs_says_to_use_the_data_page(db, tmp_path, capsys):
    with holder(db, "rw", "streamlit", "run", "app.py") as pid:
        err = _ingest(db, tmp_path, capsys)
    assert f"the workbench app (PID {pid}) holds it for writing" in err
    assert "Load files through the app's Data page" in err and "stop the app" in err


def test_a_report_while_another_command_writes_says_to_wait(db, capsys):
    with holder(db, "rw", "-m", "engagement", "ingest") as pid:
        assert main(["report", "kpis", "--db", str(db)]) == 1
        err = capsys.readouterr().err
    assert f"`python -m engagement ingest` (PID {pid}) holds it for writing" in err
    assert "DuckDB lets no other process open a file while one writes it" in err
    assert "Wait for that command to finish" in err


def test_a_writer_held_by_an_unknown_process_names_it_and_both_ways_out(db):
    with holder(db, "rw") as pid:
        with pytest.raises(StoreLockedError) as locked:
            Store.open(db, read_only=False)
    message = str(locked.value)
    assert f"another process (PID {pid}: " in message and "-c" in message
    assert "load through its Data page or stop it" in message and "wait for it to finish" in message
