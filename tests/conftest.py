"""Shared fixtures: a hand-built tiny store, and one demo database for the whole test session."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from engagement.warehouse.store import Store
from engagement.workbench import open_workbench

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
def app_env(demo_db_path, monkeypatch):
    """Point the app at the demo database (read-only, so tests share it safely)."""
    monkeypatch.setenv("ENGAGEMENT_DB", str(demo_db_path))
    monkeypatch.setenv("ENGAGEMENT_READ_ONLY", "1")
    yield
    os.environ.pop("ENGAGEMENT_DB", None)


# ------------------------------------------------------------------ warehouse mode (marker spark)
# One SparkSession and one warehouse build for the whole test session, shared by tests/test_spark_parity.py and
# tests/test_app_spark.py: starting Spark and building the derived tables on it are the slow parts.
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
