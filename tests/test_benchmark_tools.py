"""The benchmark tools that wrap the library's own functions still find them.

``benchmarks.cli_phases`` times a CLI command by replacing library functions with timed ones, by module and name;
when a function moves (the intake's SQL checks moved from validation.py to sql_checks.py), the tool stops with
an AttributeError and the benchmark's figures are lost. The suite itself never runs the benchmarks, so this runs
the tool once on a tiny file: a load and its undo, each phase printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import hand_fixture_frames
from engagement.workbench import open_workbench

ROOT = Path(__file__).resolve().parents[1]


def _phases(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ}
    env.pop("ENGAGEMENT_VALIDATION_ENGINE", None)  # GX validates a file this small: its phase is timed too
    return subprocess.run([sys.executable, "-m", "benchmarks.cli_phases", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_cli_phases_times_a_load_and_its_undo(tmp_path):
    db = tmp_path / "workbench.duckdb"
    frames = hand_fixture_frames()
    store = open_workbench(db, read_only=False)
    store.load_frame("customers", frames["customers"])
    store.close()
    orders = tmp_path / "orders.csv"
    frames["orders"].to_csv(orders, index=False)

    load = _phases("ingest", "orders", str(orders), "--defer-fits", "--db", str(db))
    assert load.returncode == 0, load.stderr
    for phase in ("SQL checks of the suite", "Great Expectations run", "derived update", "whole process"):
        assert phase in load.stderr, load.stderr
    store = open_workbench(db, read_only=True)
    load_id = store.cursor().execute("SELECT max(load_id) FROM loads").fetchall()[0][0]
    store.close()
    undo = _phases("undo", str(load_id), "--defer-fits", "--db", str(db))
    assert undo.returncode == 0, undo.stderr
    assert "the undo: rows out and back" in undo.stderr, undo.stderr
