"""`python -m engagement ingest` and `validate` import Great Expectations without pyspark
(engagement/intake/gx_import.py), and validate exactly as GX with its Spark support does; a process that hid pyspark can import it again later, and
refuses a Spark validation with the reason."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

from engagement.commands.common import to_json
from engagement.intake.gx_import import gx_has_spark
from engagement.intake.ingest import ingest_file
from engagement.workbench import open_workbench

from intake_fixtures import ORDERS_HEADER, write

ROOT = Path(__file__).resolve().parents[1]

# Rows failing different checks (the same plan as test_validation.BAD_ORDERS, with customers the database does
# not know: implied), so that most expectations count something: duplicate id, future date, unreadable date and
# amount, negative amount, unknown status, another currency; a 1970 placeholder date warns.
FILE = ORDERS_HEADER + "\n" + "\n".join([
    "b1,A,2025-01-01,10,0,USD,web,paid",
    "b1,B,2025-01-02,11,0,USD,web,paid",
    "b3,A,2030-01-01,12,0,USD,web,paid",
    "b4,A,,13,0,USD,web,paid",
    "b5,A,soon,n/a,0,USD,web,paid",
    "b6,A,2025-01-03,-14,0,USD,web,paid",
    "b7,A,2025-01-04,15,0,EUR,web,lost",
    "b8,C,1970-01-01,16,0,USD,web,paid",
] + [f"g{i},C{i % 5},2025-02-{1 + i % 28:02d},{20 + i}.50,0,USD,email,paid" for i in range(40)]) + "\n"


def _environment() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("ENGAGEMENT_VALIDATION_ENGINE", None)  # the validator a user gets: GX under its row limit
    return env


def _assert_gx_ran_without_pyspark(verbose_stderr: str) -> None:
    """``python -v`` names the file of every module it loads (from source or cache): GX's files and the module that
    imports altair and scipy.stats were loaded; no file under pyspark's folder was (GX's
    ``compatibility/pyspark.py`` is not under it), nor altair's and scipy.stats' (deferred to their first use)."""
    assert re.search(r"/great_expectations/(__pycache__/)?__init__\.", verbose_stderr)
    assert re.search(r"/expect_column_kl_divergence_to_be_less_than\.", verbose_stderr)
    assert re.findall(r"\S*site-packages/pyspark/\S*", verbose_stderr) == []
    assert not re.search(r"/altair/(__pycache__/)?__init__\.", verbose_stderr)
    assert not re.search(r"/scipy/stats/(__pycache__/)?__init__\.", verbose_stderr)


def test_the_cli_ingest_validates_with_great_expectations_without_pyspark_and_the_same_results(tmp_path,
                                                                                               monkeypatch):
    path = write(tmp_path, "orders.csv", FILE)
    done = subprocess.run([sys.executable, "-v", "-m", "engagement", "ingest", "orders", str(path),
                           "--on-invalid", "quarantine", "--db", str(tmp_path / "cli.duckdb")],
                          cwd=ROOT, env=_environment(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    _assert_gx_ran_without_pyspark(done.stderr)
    cli = json.loads(done.stdout)

    # The same file in this process, where GX was imported with pyspark (installed for warehouse mode).
    monkeypatch.delenv("ENGAGEMENT_VALIDATION_ENGINE", raising=False)
    store = open_workbench(tmp_path / "here.duckdb", read_only=False, readable=(tmp_path,))
    try:
        here = ingest_file(store, "orders", path, on_invalid="quarantine", engine="great_expectations")
    finally:
        store.close()
    assert gx_has_spark()
    assert cli["validation"]["engine"] == here.report.engine == "great_expectations"
    here = json.loads(to_json(here.as_dict()))  # as the CLI prints it
    assert cli["validation"]["expectations"] == here["validation"]["expectations"]
    assert sum(1 for r in cli["validation"]["expectations"] if r["unexpected_count"]) >= 7  # the failures counted
    for key in ("status", "rows_loaded", "rows_quarantined", "notes"):
        assert cli[key] == here[key], key
    assert cli["validation"]["failing_rows"] == here["validation"]["failing_rows"] == 7


def test_the_cli_validate_command_imports_great_expectations_without_pyspark_too(tmp_path, monkeypatch):
    path = write(tmp_path, "orders.csv", FILE)
    done = subprocess.run([sys.executable, "-v", "-m", "engagement", "validate", "orders", str(path),
                           "--db", str(tmp_path / "none.duckdb")],
                          cwd=ROOT, env=_environment(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stderr[-3000:]  # the file has failing rows: reported, exit 1
    _assert_gx_ran_without_pyspark(done.stderr)
    cli = json.loads(done.stdout)
    monkeypatch.delenv("ENGAGEMENT_VALIDATION_ENGINE", raising=False)
    store = open_workbench(":memory:", read_only=False, readable=(tmp_path,))
    try:
        here = json.loads(to_json(ingest_file(store, "orders", path, dry_run=True).as_dict()))
    finally:
        store.close()
    assert cli["validation"]["engine"] == here["validation"]["engine"] == "great_expectations"
    assert cli["validation"]["expectations"] == here["validation"]["expectations"]


def _run_script(script: str) -> subprocess.CompletedProcess:
    """Run ``script`` in a new Python process from the project folder; it must exit 0."""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=_environment(), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_pyspark_imports_after_the_hidden_gx_import_and_spark_validation_says_why_it_refuses():
    script = (
        "import sys\n"
        "from engagement.intake.gx_import import import_without_spark, gx_has_spark\n"
        "import_without_spark()\n"
        "assert 'pyspark' not in sys.modules and not gx_has_spark()\n"
        "import pyspark.sql\n"  # the block is lifted: warehouse code in this process can still import pyspark
        "from engagement.intake.spark_validation import validate_mapped_tables\n"
        "try:\n"
        "    validate_mapped_tables(None)\n"
        "except RuntimeError as exc:\n"
        "    print(exc)\n"
    )
    done = _run_script(script)
    assert "without Spark support" in done.stdout and "in its own process" in done.stdout


def test_the_modules_deferred_at_the_gx_import_load_at_their_first_use():
    """scipy.stats and altair, deferred while GX is imported (gx_import._DEFERRED), are loaded when GX's module first
    uses them, give the same results, and any later import gets the real module, not the stand-in."""
    script = (
        "import sys\n"
        "from engagement.intake.gx_import import import_without_spark\n"
        "import_without_spark()\n"
        "assert 'scipy.stats' not in sys.modules and 'altair' not in sys.modules\n"
        "from great_expectations.expectations.core import expect_column_kl_divergence_to_be_less_than as kl\n"
        "print(kl.stats.entropy([0.5, 0.5], [0.9, 0.1]))\n"
        "import scipy.stats, altair\n"
        "assert type(sys.modules['scipy.stats']).__name__ == 'module' and kl.stats.entropy is scipy.stats.entropy\n"
        "assert kl.alt.Chart is altair.Chart and type(sys.modules['altair']).__name__ == 'module'\n"
    )
    done = _run_script(script)
    # KL divergence of (0.5, 0.5) from (0.9, 0.1), by hand: 0.5 ln(0.5/0.9) + 0.5 ln(0.5/0.1) = 0.5108256...
    assert abs(float(done.stdout) - (0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1))) < 1e-12
