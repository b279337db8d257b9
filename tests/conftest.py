"""Shared fixtures: a hand-built tiny store, one demo database for the whole test session, the app driven by
AppTest, and the real app on a local port for the browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Iterator, Mapping, Sequence

import pandas as pd
import pytest

from engagement.warehouse.store import Store
from engagement.workbench import open_workbench

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
# Real public datasets live in ../shared/data beside the project (read-only; see its README).
SHARED_DATA = Path(os.environ.get("ENGAGEMENT_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))

# The demo database the AppTest and view tests read: 5,000 customers keeps the suite fast on 2 cores.
DEMO_TEST_CUSTOMERS = 5_000


def hand_fixture_frames() -> dict[str, pd.DataFrame]:
    """Four customers and a handful of orders and answers, small enough to compute KPIs by hand.

    The expected values are written out in tests/test_kpis.py.
    """
    ts = pd.to_datetime
    customers = pd.DataFrame({
        "customer_id": ["A", "B", "C", "D"],
        "created_at": ts(["2024-11-01", "2025-01-15", "2024-11-20", "2025-02-01"]),
        "acquisition_channel": ["paid_social", "organic_search", "paid_social", "referral"],
        "is_loyalty_member": [True, True, False, True],
        "loyalty_tier": ["silver", "bronze", None, "bronze"],
        "accepts_marketing": [True, False, True, True],
    })
    orders = pd.DataFrame({
        "order_id": ["o1", "o2", "o3", "o4", "o5", "o6"],
        "customer_id": ["A", "A", "A", "B", "C", "C"],
        "ordered_at": ts(["2025-01-10", "2025-02-09", "2025-03-01", "2025-01-20", "2024-12-01", "2025-01-31"]),
        "net_revenue": [100.0, 50.0, 30.0, 80.0, 40.0, 60.0],
        "status": ["paid", "fulfilled", "cancelled", "paid", "paid", "paid"],
        "currency": ["USD"] * 6,
    })
    surveys = pd.DataFrame({
        "response_id": ["r1", "r2", "r3", "r4", "r5", "r6"],
        "customer_id": ["A", "A", "B", "C", "C", "B"],
        "responded_at": ts(["2025-01-12", "2025-02-12", "2025-01-25", "2025-02-05", "2025-03-05", "2024-12-15"]),
        "kind": ["nps"] * 6,
        "score": [10, 9, 7, 3, 0, 10],
    })
    return {"customers": customers, "orders": orders, "surveys": surveys}


@pytest.fixture(autouse=True)
def _currency_of_the_test():
    """Each test starts in dollars and leaves no currency behind: an AppTest run sets the currency of the
    database it shows in this thread's context (``metrics.set_currency``), which outlived the test."""
    from engagement import metrics

    token = metrics._CURRENCY.set(("USD",))
    yield
    metrics._CURRENCY.reset(token)


@pytest.fixture()
def hand_store() -> Store:
    store = open_workbench(":memory:", read_only=False)
    for kind, frame in hand_fixture_frames().items():
        store.load_frame(kind, frame)
    yield store
    store.close()


@pytest.fixture(scope="session")
def demo_db_path(tmp_path_factory) -> Path:
    """A demo database built once per test session through the normal load path."""
    from engagement.intake.ingest import ingest_demo

    path = tmp_path_factory.mktemp("demo") / "engagement.duckdb"
    store = open_workbench(path, read_only=False)
    ingest_demo(store, customers=DEMO_TEST_CUSTOMERS, seed=42)
    store.close()
    return path


@pytest.fixture(scope="session")
def demo_store(demo_db_path) -> Store:
    store = open_workbench(demo_db_path, read_only=True)
    yield store
    store.close()


@pytest.fixture()
def writable_app(demo_db_path, tmp_path, monkeypatch) -> Path:
    """The app (AppTest, in this process) on a writable copy of the demo database, no snapshots published."""
    import shutil

    from engagement import ui

    db = tmp_path / "engagement.duckdb"
    shutil.copy(demo_db_path, db)
    monkeypatch.setenv("ENGAGEMENT_DB", str(db))
    monkeypatch.setenv("ENGAGEMENT_READ_ONLY", "")
    monkeypatch.setenv("ENGAGEMENT_SNAPSHOTS", "0")
    ui.get_store.clear()
    yield db
    ui.get_store.clear()


@pytest.fixture()
def app_env(demo_db_path, monkeypatch):
    """Point the app at the demo database (read-only, so tests share it safely)."""
    monkeypatch.setenv("ENGAGEMENT_DB", str(demo_db_path))
    monkeypatch.setenv("ENGAGEMENT_READ_ONLY", "1")
    yield
    os.environ.pop("ENGAGEMENT_DB", None)


def open_app_page(page: str, params: Mapping[str, str] | None = None) -> AppTest:
    """app.py under AppTest with ``params`` as the URL's query parameters, switched to ``page``; no exception."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    at.run()
    if page != "pages/overview.py":
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


# ------------------------------------------------- the real app on a local port, and Chromium (browser tests)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_url(url: str, proc: subprocess.Popen, what: str, log: IO[str] | None = None) -> None:
    """Return once ``url`` answers; fail with the process's output when it exits or stays silent for 90 s."""
    def output() -> str:
        if log is not None:
            log.seek(0)
            return log.read()
        return proc.stdout.read() if proc.stdout else ""  # (the process has ended: the read returns)

    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited: {output()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    proc.kill()
    proc.wait()
    pytest.fail(f"{what} did not start: {output()}")


@contextmanager
def streamlit_server(env: Mapping[str, str | None], *, args: Sequence[str] = (),
                     port: int | None = None) -> Iterator[str]:
    """``streamlit run app.py`` on a local port; yields its base URL and stops it on leaving.

    ``env`` is laid over this process's environment (``None`` removes a variable); ``args`` are more
    ``streamlit run`` options; ``port`` when the caller must know it first (a redirect URI names it). The
    server's output goes to a file (a pipe nobody reads could fill and stall it) and is shown if it fails to start.
    """
    port = port or free_port()
    environ = dict(os.environ)
    for key, value in env.items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
    with tempfile.TemporaryFile("w+", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.headless",
             "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", *args],
            cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT, text=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for_url(f"{url}/_stcore/health", proc, "streamlit", log)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="session")
def streamlit_app():
    """A factory of app servers: ``with streamlit_app({"ENGAGEMENT_DB": str(db)}) as url: yield url`` in a
    module's fixture (see :func:`streamlit_server`)."""
    return streamlit_server


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium through Playwright, one per test module."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: the README's test command installs it (apt-get install chromium).")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def wait_rendered(page, timeout_ms: int = 120_000) -> None:
    """Wait until a title is shown and the script has stayed finished (no running indicator, no
    spinner) for two seconds: the indicator can appear a moment after the first elements paint."""
    from playwright.sync_api import Error as PlaywrightError

    page.wait_for_selector("h1", timeout=timeout_ms)
    idle = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]') && " \
           "!document.querySelector('[data-testid=\"stSpinner\"]')"
    deadline = time.time() + timeout_ms / 1000
    quiet_since = None
    while time.time() < deadline:
        try:
            quiet = page.evaluate(idle)
        except PlaywrightError as exc:  # a navigation meanwhile (after sign-in the app returns to the deep link)
            if "context was destroyed" not in str(exc):
                raise
            page.wait_for_selector("h1", timeout=timeout_ms)
            quiet = False
        if quiet:
            quiet_since = quiet_since or time.time()
            if time.time() - quiet_since >= 2.0:
                return
        else:
            quiet_since = None
        page.wait_for_timeout(250)
    raise AssertionError("the page kept running for too long")


# ------------------------------------------------------------------ warehouse mode (marker spark)
# One SparkSession and one warehouse build for the whole test session, shared by tests/test_spark_parity.py (and
# any other Spark test): starting Spark and building the derived tables on it are the slow parts.
@pytest.fixture(scope="session")
def spark_engine():
    """local[2] with 2 shuffle partitions (the machine has 2 cores)."""
    from engagement.warehouse.engine import SparkEngine

    engine = SparkEngine.start("local[2]", shuffle_partitions=2)
    engine.session.sparkContext.setLogLevel("ERROR")
    yield engine
    engine.stop()


@pytest.fixture(scope="session")
def lake(demo_db_path, tmp_path_factory):
    """The demo written by ``lake export`` (Parquet folders and their mapping.toml)."""
    import contextlib
    import io

    from engagement.cli import main

    folder = tmp_path_factory.mktemp("lake") / "demo"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["lake", "export", str(folder), "--db", str(demo_db_path)]) == 0
    return folder


@pytest.fixture(scope="session")
def warehouse(lake, spark_engine):
    """The demo on Spark, mapped back through the mapping ``lake export`` wrote, derived tables built."""
    from engagement.warehouse.lake import read_mapping
    from engagement.workbench import open_warehouse

    return open_warehouse(read_mapping(lake / "mapping.toml"), engine=spark_engine)
