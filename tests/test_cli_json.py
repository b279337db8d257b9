"""Every command's JSON is strict JSON: NaN and infinities are printed as null, each with the reason.

Issue 14: `abtest` printed `Infinity` (and nulls nobody explained). The inputs below make those values
on purpose: a control that never converts (the relative lift divides by a control rate of 0, hand-checked:
0/200 = 0), arms in which every unit has the same value (no variance to test), and an intended split
giving one variant a share of 0 while it received units (chi-square term (200 - 0)^2 / 0 = infinite).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pandas as pd

from engagement.cli import main
from engagement.warehouse.store import Store

COMMANDS_DIR = Path(__file__).resolve().parents[1] / "engagement" / "commands"


def _strict_json(text: str):
    """Parse as strict JSON: NaN / Infinity / -Infinity literals are an error, not a float."""
    def refuse(literal: str):
        raise AssertionError(f"non-standard JSON literal {literal} in the output")
    return json.loads(text, parse_constant=refuse)


def _unit_file(tmp_path: Path) -> Path:
    frame = pd.DataFrame({
        "variant": ["control"] * 200 + ["treatment"] * 200,
        "converted": [0] * 200 + [1 if i % 10 == 0 else 0 for i in range(200)],
        "revenue": [5.0] * 200 + [7.0] * 200,  # no variation within either arm
    })
    path = tmp_path / "units.csv"
    frame.to_csv(path, index=False)
    return path


def test_abtest_json_has_no_nan_or_infinity_and_says_why(tmp_path, capsys):
    path = _unit_file(tmp_path)
    assert main(["abtest", str(path), "--variant-col", "variant", "--control", "control",
                 "--metrics", "converted,revenue", "--split", "control=100,treatment=0"]) == 0
    out = capsys.readouterr().out
    assert "Infinity" not in out and "NaN" not in out
    summary = _strict_json(out)
    assert summary["srm"]["chi_square"] is None
    assert "intended share is 0" in summary["srm"]["chi_square_null_reason"]
    converted, revenue = summary["metrics"]
    assert converted["mean_control"] == 0.0 and converted["relative_lift"] is None
    assert "control mean is 0" in converted["relative_lift_null_reason"]
    assert revenue["p_value"] is None and "no variation" in revenue["p_value_null_reason"]
    # Every null float of a record has its reason beside it.
    for record in summary["metrics"]:
        for key, value in record.items():
            if value is None and not key.endswith("_null_reason"):
                assert f"{key}_null_reason" in record, key


def test_sql_json_nulls_nan_and_infinity_with_a_reason(tmp_path, capsys):
    db = tmp_path / "e.duckdb"
    Store.open(db, read_only=False).close()
    assert main(["sql", "SELECT CAST('inf' AS DOUBLE) AS up, CAST('nan' AS DOUBLE) AS undefined, 1.5 AS fine",
                 "--db", str(db), "--format", "json"]) == 0
    (row,) = _strict_json(capsys.readouterr().out)
    assert row["up"] is None and "infinite" in row["up_null_reason"]
    assert row["undefined"] is None and "not a number" in row["undefined_null_reason"]
    assert row["fine"] == 1.5 and "fine_null_reason" not in row


def test_every_command_prints_json_through_the_one_encoder():
    """No command module calls json.dumps itself: they all go through commands.common.to_json, which
    passes allow_nan=False (a NaN that slipped through would raise, not print)."""
    offenders = []
    for module in sorted(COMMANDS_DIR.glob("*.py")) + [COMMANDS_DIR.parent / "cli.py"]:
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            is_call = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            if is_call and node.func.attr in ("dumps", "dump"):
                function = next((f.name for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
                                 and f.lineno <= node.lineno <= f.end_lineno), None)
                keywords = {k.arg: k.value for k in node.keywords}
                strict = isinstance(keywords.get("allow_nan"), ast.Constant) and keywords["allow_nan"].value is False
                if not (module.name == "common.py" and function == "to_json" and strict):
                    offenders.append(f"{module.name}:{node.lineno}")
    assert offenders == []


def test_sql_json_prints_a_missing_value_as_a_plain_null(tmp_path, capsys):
    """A SQL NULL in a text or timestamp column is missing, not a computation that failed: null with no reason
    (it printed "NaT" for a timestamp, and "not a number" as the reason of a missing text)."""
    db = tmp_path / "e.duckdb"
    Store.open(db, read_only=False).close()
    assert main(["sql", "SELECT NULL::VARCHAR AS note, NULL::TIMESTAMP AS undone_at, 'a' AS kind, 3 AS n",
                 "--db", str(db), "--format", "json"]) == 0
    (row,) = _strict_json(capsys.readouterr().out)
    assert row == {"note": None, "undone_at": None, "kind": "a", "n": 3}


def test_load_history_json_says_null_for_a_load_no_one_undid(demo_db_path, tmp_path, capsys):
    db = tmp_path / "copy.duckdb"
    db.write_bytes(demo_db_path.read_bytes())
    assert main(["report", "loads", "--db", str(db)]) == 0
    loads = _strict_json(capsys.readouterr().out)["loads"]
    standing = [load for load in loads if load["undone_at"] is None]
    assert standing, loads
    for load in standing:
        assert load["undone_by"] is None and "undone_by_null_reason" not in load
        assert "undone_at_null_reason" not in load


def test_sql_with_a_relative_database_path_from_another_folder(tmp_path, monkeypatch, capsys):
    """The notebook's copy of the data is made in a child process started in the project folder: a relative
    --db named a file there ("Cannot open file .../e.duckdb.snapshots/...: No such file")."""
    Store.open(tmp_path / "e.duckdb", read_only=False).close()
    monkeypatch.chdir(tmp_path)
    assert main(["sql", "SELECT 41 + 1 AS answer", "--db", "e.duckdb", "--format", "json"]) == 0
    assert _strict_json(capsys.readouterr().out) == [{"answer": 42}]
