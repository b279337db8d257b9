"""A `python -m engagement` process imports pandas, numpy and pyarrow at their first use (engagement/stand_ins.py):
`undo` imports none of them, a command that reads a DataFrame still works, and the stand-in behaves as the module."""

from __future__ import annotations

import builtins
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from engagement.stand_ins import StandIn, defer_library_imports, end_deferral

from intake_fixtures import ORDERS_HEADER, write

ROOT = Path(__file__).resolve().parents[1]
DEFERRED = ("pandas", "numpy", "pyarrow")


def _cli(*args: str, importtime: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "engagement", *args]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def _imported(importtime_stderr: str) -> set[str]:
    """The top-level packages ``-X importtime`` reports as imported (its lines end with the module's name)."""
    return {m.group(1).split(".")[0] for m in re.finditer(r"^import time:.*\|\s*([\w.]+)\s*$", importtime_stderr,
                                                          re.M)}


def test_undo_imports_no_pandas_numpy_or_pyarrow_and_a_report_still_reads_frames(tmp_path):
    orders = write(tmp_path, "orders.csv", ORDERS_HEADER + "\n" + "\n".join(
        f"o{i},C{i % 7},2025-03-{1 + i % 28:02d},{10 + i}.25,0,USD,web,paid" for i in range(30)) + "\n")
    db = str(tmp_path / "w.duckdb")
    loaded = json.loads(_cli("ingest", "orders", str(orders), "--db", db, "--defer-fits").stdout)
    assert loaded["status"] == "loaded" and loaded["rows_loaded"] == 30

    undo = _cli("undo", str(loaded["load_id"]), "--db", db, "--defer-fits", importtime=True)
    assert json.loads(undo.stdout)["status"] == "undone"
    imported = _imported(undo.stderr)
    assert "duckdb" in imported and "engagement" in imported  # the report lists what was imported
    assert imported.isdisjoint(DEFERRED), imported & set(DEFERRED)

    # A command that reads DataFrames (DuckDB's .df() imports pandas from C, while the library holds stand-ins).
    _cli("ingest", "orders", str(orders), "--db", db, "--defer-fits")
    kpis = _cli("report", "kpis", "--db", db, importtime=True)
    assert "pandas" in _imported(kpis.stderr)
    assert json.loads(kpis.stdout)


@pytest.fixture
def probe_modules(tmp_path, monkeypatch):
    """Three throwaway modules on sys.path (names no one else imports), removed again afterwards."""
    names = ("stand_in_probe_a", "stand_in_probe_b", "stand_in_probe_c")
    for name in names:
        (tmp_path / f"{name}.py").write_text("VALUE = 42\n\ndef twice(x):\n    return 2 * x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield names
    for name in names:
        sys.modules.pop(name, None)


def test_the_library_s_plain_import_binds_a_stand_in_that_loads_the_module_on_first_use(probe_modules):
    a, b, c = probe_modules
    before = builtins.__import__
    defer_library_imports(names=probe_modules, package="engagement")
    try:
        library = {"__name__": "engagement.some_view"}
        exec(f"import {a} as alias", library)
        stand_in = library["alias"]
        assert isinstance(stand_in, StandIn) and a not in sys.modules  # nothing imported yet

        assert stand_in.twice(stand_in.VALUE) == 84  # the first read imports it
        assert a in sys.modules and stand_in.twice is sys.modules[a].twice
        with pytest.raises(AttributeError):
            stand_in.missing  # noqa: B018
        exec(f"import {a} as again", library)  # once imported, the real module
        assert library["again"] is sys.modules[a]

        elsewhere = {"__name__": "another_package.module"}
        exec(f"import {b}", elsewhere)  # another package's import: the real module at once
        assert elsewhere[b] is sys.modules[b] and not isinstance(elsewhere[b], StandIn)
        assert builtins.__import__ is not before  # the hook, while a module is left to defer
        exec(f"from {c} import VALUE", library)  # a from-import: the real module
        assert library["VALUE"] == 42 and c in sys.modules
        assert builtins.__import__ is before  # every one imported: the hook removed itself
    finally:
        end_deferral()
    assert builtins.__import__ is before


def test_end_deferral_removes_the_hook_and_bound_stand_ins_still_import_on_first_use(probe_modules):
    a, *_ = probe_modules
    before = builtins.__import__
    defer_library_imports(names=probe_modules, package="engagement")
    try:
        library = {"__name__": "engagement.some_view"}
        exec(f"import {a} as alias", library)
        end_deferral()  # as gx_import does before importing Great Expectations (which imports pandas)
        assert builtins.__import__ is before and a not in sys.modules
        assert library["alias"].VALUE == 42 and a in sys.modules
        end_deferral()  # nothing left to end: no error
    finally:
        end_deferral()
    assert builtins.__import__ is before
