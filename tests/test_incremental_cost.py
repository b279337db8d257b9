"""Loads in proportion to what changed (issue 20): the maintenance rules that keep a weekly load's derived update
small. Exactness after random loads and undos is tests/test_incremental_derived.py; these check the rules'
premises and that the cheap paths are taken."""

from __future__ import annotations

import pandas as pd

from engagement import derived
from engagement.derived import update as derived_update
from engagement.retention import rfm
from engagement.sql import read_sql
from engagement.workbench import open_workbench


def _demo_store():
    from engagement.intake.ingest import ingest_demo

    store = open_workbench(":memory:", read_only=False)
    ingest_demo(store, customers=300, seed=7)
    return store


def _late_order(order_id: str, customer_id: str) -> pd.DataFrame:
    """An order a week after the demo's data ends: it moves "as of", and with it every default window."""
    return pd.DataFrame({"order_id": [order_id], "customer_id": [customer_id],
                         "ordered_at": [pd.Timestamp("2031-01-01")], "net_revenue": [20.0], "status": ["paid"],
                         "currency": ["USD"]})


def test_only_the_declared_cut_columns_of_a_compared_entry_read_the_dataset_facts():
    """customer_summary is compared on its cut columns only (update.py): with every dataset-wide fact moved
    (as of a year later, other recency and VIP cuts), every other column of every row stays the same."""
    store = _demo_store()
    cur = store.cursor()
    for entry in derived.BUILD:
        if entry.maintained != "compared":
            continue
        moved = ("SELECT * REPLACE (as_of + INTERVAL 400 DAY AS as_of, at_risk_days + 7 AS at_risk_days, "
                 "lapsed_days + 11 AS lapsed_days, vip_revenue * 0.5 AS vip_revenue) FROM main.dataset_facts")
        sql = derived_update._with_inputs(read_sql(f"derived/{entry.name}"), {"dataset_facts": moved})
        cur.execute(f"CREATE OR REPLACE TEMP TABLE moved AS {sql}")
        kept = [r[0] for r in cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = $name AND table_schema = 'main' "
            "ORDER BY ordinal_position", {"name": entry.name}).fetchall() if r[0] not in entry.cut_columns]
        columns = ", ".join(f'"{c}"' for c in kept)
        differing = cur.execute(
            f'SELECT count(*) FROM (SELECT {columns} FROM moved EXCEPT ALL SELECT {columns} FROM main."{entry.name}")'
        ).fetchall()[0][0]
        assert entry.cut_columns and differing == 0, entry.name
        stages_moved = cur.execute(
            f'SELECT count(*) FROM moved JOIN main."{entry.name}" AS s USING (customer_id) '
            f"WHERE moved.lifecycle_stage <> s.lifecycle_stage").fetchall()[0][0]
        assert stages_moved > 0  # the moved facts do reach the cut columns
    store.close()


def test_a_weekly_load_leaves_the_stored_views_to_after_its_commit_and_readers_compute_them_meanwhile(monkeypatch):
    store = _demo_store()
    built_in_write = []
    update = derived_update.update_derived

    def recording(store_, cur, change, entries, order, tables, build_entry):
        def build(s, c, name):
            built_in_write.append(name)
            return build_entry(s, c, name)
        return update(store_, cur, change, entries, order, tables, build)

    monkeypatch.setattr(derived_update, "update_derived", recording)
    window = dict(store.stored_view_params(rfm.STORED_WINDOW))
    store.defer_refits = True  # as `ingest --defer-fits`: nothing runs after the commit
    customer = store.cursor().execute("SELECT min(customer_id) FROM customers").fetchall()[0][0]
    store.load_frame("orders", _late_order("late-1", customer))
    assert not set(built_in_write) & set(derived.DEFERRED)
    # Dropped in the write: a page asking for the default window runs the view's query instead.
    for name in derived.STORED_VIEWS:
        assert store.stored_view_params(name) is None, name
    moved = {**window, **{k: v for k, v in store.cursor().execute(
        "SELECT default_window_start AS start, default_window_end_exclusive AS end_exclusive FROM dataset_facts"
    ).df().iloc[0].items()}}
    assert moved != window
    on_demand = store.query("rfm/window_customers", moved).sort_values("customer_id", ignore_index=True)
    # After the commit they are built again (here as the `refit` command does), equal to a full rebuild.
    from engagement.derived.refits import restore_now

    assert restore_now(store, derived.restore_deferred)
    assert store.stored_view_params(rfm.STORED_WINDOW) == moved
    stored = store.cursor().execute(f"SELECT * FROM {rfm.STORED_WINDOW}").df()
    pd.testing.assert_frame_equal(stored.sort_values("customer_id", ignore_index=True)[on_demand.columns],
                                  on_demand, check_dtype=False)
    kept = {name: store.cursor().execute(f'SELECT * FROM "{name}" ORDER BY ALL').fetchall()
            for name in derived.DEFERRED}
    store.refresh_derived()  # a full rebuild defers them too (built after its commit; deferred here)
    assert restore_now(store, derived.restore_deferred)
    for name in derived.DEFERRED:
        assert store.cursor().execute(f'SELECT * FROM "{name}" ORDER BY ALL').fetchall() == kept[name], name
    store.close()


def test_cli_undo_can_defer_the_stored_views_and_fits_and_refit_builds_them(tmp_path, capsys):
    import json

    from engagement.cli import main

    from engagement.intake.ingest import ingest_demo

    db = tmp_path / "brand.duckdb"
    store = open_workbench(db, read_only=False)
    ingest_demo(store, customers=300, seed=7)  # one customer of 300 touched: updated, not rebuilt whole
    customer = store.cursor().execute("SELECT min(customer_id) FROM customers").fetchall()[0][0]
    load_id = store.load_frame("orders", _late_order("late-1", customer)).load_id
    assert store.stored_view_params(rfm.STORED_WINDOW) is not None  # the library builds them after the commit
    store.close()
    assert main(["undo", str(load_id), "--defer-fits", "--db", str(db)]) == 0
    store = open_workbench(db, read_only=True)
    assert all(store.stored_view_params(name) is None for name in derived.STORED_VIEWS)
    store.close()
    capsys.readouterr()
    assert main(["refit", "--db", str(db)]) == 0
    assert json.loads(capsys.readouterr().out) == {"refitted": True}
    store = open_workbench(db, read_only=True)
    assert all(store.stored_view_params(name) is not None for name in derived.STORED_VIEWS)
    store.close()


def test_a_writable_database_checkpoints_after_its_commits_and_its_log_keeps_them(tmp_path):
    """A commit leaves its write-ahead log to a later checkpoint (the threshold is raised from DuckDB's 16 MB,
    which a weekly file's update exceeds), and the log is durable: the file and log copied right after the commit,
    as a crash would leave them, open with the write in."""
    import shutil

    db = tmp_path / "brand.duckdb"
    store = open_workbench(db, read_only=False)
    threshold = store.cursor().execute("SELECT current_setting('checkpoint_threshold')").fetchall()[0][0]
    assert threshold == "1.0 GiB"  # DuckDB spells the store's CHECKPOINT_THRESHOLD so
    store.load_frame("orders", _late_order("late-1", "c-1"))
    wal = tmp_path / "brand.duckdb.wal"
    assert wal.stat().st_size > 0
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    shutil.copyfile(db, crashed / "brand.duckdb")
    shutil.copyfile(wal, crashed / "brand.duckdb.wal")
    expected = store.cursor().execute("SELECT * FROM purchases ORDER BY ALL").fetchall()
    store.close()
    copy = open_workbench(crashed / "brand.duckdb", read_only=False)
    assert copy.cursor().execute("SELECT order_id FROM orders").fetchall() == [("late-1",)]
    assert copy.cursor().execute("SELECT * FROM purchases ORDER BY ALL").fetchall() == expected
    copy.close()


def test_cli_ingest_of_a_small_file_imports_great_expectations_on_another_thread(tmp_path, monkeypatch, capsys):
    """The CLI starts the validator's import while it opens the database and reads the file; not for a file the
    SQL checks validate alone (over ENGAGEMENT_GX_MAX_ROWS rows, or the engine forced to DuckDB)."""
    import json
    import threading

    from engagement.cli import main

    started = []
    start = threading.Thread.start

    def recording_start(thread):
        started.append(thread.name)
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", recording_start)
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,customer_id,ordered_at,net_revenue,status,currency\n"
                      "o-1,c-1,2024-03-01 10:00:00,20.00,paid,USD\no-2,c-2,2024-03-02 11:00:00,35.50,paid,USD\n")
    assert main(["ingest", "orders", str(orders), "--db", str(tmp_path / "a.duckdb")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "loaded" and report["validation"]["engine"] == "great_expectations"
    assert "import-great-expectations" in started
    started.clear()
    monkeypatch.setenv("ENGAGEMENT_VALIDATION_ENGINE", "duckdb")
    assert main(["ingest", "orders", str(orders), "--db", str(tmp_path / "b.duckdb")]) == 0
    assert json.loads(capsys.readouterr().out)["validation"]["engine"] == "duckdb"
    assert "import-great-expectations" not in started


def test_the_command_line_starts_without_scipy():
    """scipy.special (about 0.5 s of CPU to import) is imported by the model fits that use it, not by every
    command-line process: an undo or a report that fits nothing does not pay for it."""
    import subprocess
    import sys
    from pathlib import Path

    probe = ("import sys; import engagement.cli, engagement.workbench, engagement.stats.bgnbd, "
             "engagement.stats.gamma_gamma; print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert run.stdout.strip() == "[]"


def test_the_sums_without_a_stage_read_no_column_computed_from_the_cuts():
    """purchase_days and cohort_cells declare that they read no cut column (Derived.reads_cuts), so a load leaves
    out of their update the customers whose stage alone moved: their SQL names no cut column of a compared entry."""
    cut_columns = {c for entry in derived.BUILD for c in entry.cut_columns}
    free = [entry for entry in derived.BUILD if not entry.reads_cuts]
    assert {entry.name for entry in free} == {"purchase_days", "cohort_cells"}
    for entry in free:
        assert entry.maintained == "sums"
        assert not [c for c in cut_columns if c in read_sql(f"derived/{entry.name}")], entry.name


def test_a_load_moving_every_stage_updates_the_daily_and_cohort_sums_of_its_own_customers_only(monkeypatch):
    """A late order moves "as of", and with it the stage of many customers who bought nothing; the sums without a
    stage (cohort_cells, purchase_days) are updated for the one customer of the order, and equal a rebuild."""
    store = _demo_store()
    cur = store.cursor()
    before = dict(cur.execute("SELECT customer_id, lifecycle_stage FROM customer_summary").fetchall())
    sized = {}
    add = derived_update._Update._add_differences

    def recording(self, entry, affected):
        sized[entry.name] = self.cur.execute(f'SELECT count(*) FROM "{affected}"').fetchall()[0][0]
        return add(self, entry, affected)

    monkeypatch.setattr(derived_update._Update, "_add_differences", recording)
    customer = cur.execute("SELECT min(customer_id) FROM order_facts").fetchall()[0][0]
    store.load_frame("orders", _late_order("late-1", customer))
    after = dict(cur.execute("SELECT customer_id, lifecycle_stage FROM customer_summary").fetchall())
    assert sum(before[c] != after[c] for c in before if c != customer) > 20  # the premise: many stages moved
    assert sized["cohort_cells"] == sized["purchase_days"] == 1
    kept = {name: cur.execute(f'SELECT * FROM "{name}" ORDER BY ALL').fetchall()
            for name in ("cohort_cells", "purchase_days", "purchases", "customer_summary")}
    store.refresh_derived()
    for name, rows in kept.items():
        assert cur.execute(f'SELECT * FROM "{name}" ORDER BY ALL').fetchall() == rows, name
    store.close()


def test_the_cut_bounds_of_a_compared_entry_hold_every_customer_whose_cut_columns_a_move_changes():
    """customer_summary declares where its stage compares a customer's column with the dataset's facts
    (Derived.cut_bounds): with every dataset-wide fact moved, each customer whose stage moves has a column between a
    bound's old and new values (margin added), and most customers have none (they are not compared)."""
    store = _demo_store()
    cur = store.cursor()
    entry = derived.BY_NAME["customer_summary"]
    moved = ("SELECT * REPLACE (as_of + INTERVAL 40 DAY AS as_of, at_risk_days + 7 AS at_risk_days, "
             "lapsed_days + 11 AS lapsed_days, vip_revenue * 0.9 AS vip_revenue) FROM main.dataset_facts")
    cur.execute("CREATE TEMP TABLE moved_facts AS " + moved)
    cur.execute("CREATE TEMP TABLE moved AS " + derived_update._with_inputs(read_sql("derived/customer_summary"),
                                                                            {"dataset_facts": moved}))
    between = " OR ".join(
        f"f.{column} BETWEEN least(o.{i}, n.{i}) - {margin} AND greatest(o.{i}, n.{i}) + {margin}"
        for column, margin, i in ((c, m, f"b{i}") for i, (c, _, m) in enumerate(entry.cut_bounds)))
    bounds = ", ".join(f"{bound} AS b{i}" for i, (_, bound, _) in enumerate(entry.cut_bounds))
    candidates = (f"SELECT f.customer_id FROM customer_facts AS f, (SELECT {bounds} FROM main.dataset_facts) AS o, "
                  f"(SELECT {bounds} FROM moved_facts) AS n WHERE {between}")
    changed, outside, compared, customers = cur.execute(f"""
        SELECT count(*), count(*) FILTER (WHERE customer_id NOT IN ({candidates})),
               (SELECT count(*) FROM ({candidates})), (SELECT count(*) FROM customer_facts)
        FROM moved JOIN main.customer_summary AS s USING (customer_id)
        WHERE moved.lifecycle_stage <> s.lifecycle_stage""").fetchall()[0]
    assert changed > 20 and outside == 0  # the premise (many stages moved), and the bounds hold them all
    assert compared < customers / 2
    store.close()


def test_a_load_moving_as_of_compares_and_restates_only_the_customers_between_the_old_and_new_cuts(monkeypatch):
    """A late order moves "as of": customer_summary computes the stage of the customers between the old and new
    cuts only and sets it in place for those whose stage alone moved (it replaces the order's customer's row
    alone), purchases sets the stage alone of those, and both equal a rebuild."""
    store = _demo_store()
    cur = store.cursor()
    sized = {}
    temp = derived_update._Update._temp

    def recording(self, name, select, *params):
        made = temp(self, name, select, *params)
        if name in ("new__customer_summary", "tail__restated", "old__customer_summary"):
            sized[name] = self.cur.execute(
                f'SELECT count(*), count(*) FILTER (WHERE {"NOT others_moved" if name == "tail__restated" else "true"})'
                f' FROM "{made}"').fetchall()[0]
        return made

    monkeypatch.setattr(derived_update._Update, "_temp", recording)
    customer = cur.execute("SELECT min(customer_id) FROM order_facts").fetchall()[0][0]
    customers = cur.execute("SELECT count(*) FROM customer_summary").fetchall()[0][0]
    store.load_frame("orders", _late_order("late-1", customer))
    assert 0 < sized["new__customer_summary"][0] < customers / 2
    restated, stage_only = sized["tail__restated"]
    assert restated > 20 and stage_only == restated  # an orders file changes no other attribute
    assert sized["old__customer_summary"][0] == 1  # the order's customer's row replaced; the stages set in place
    kept = {name: cur.execute(f'SELECT * FROM "{name}" ORDER BY ALL').fetchall()
            for name in ("purchases", "customer_summary")}
    store.refresh_derived()
    for name, rows in kept.items():
        assert cur.execute(f'SELECT * FROM "{name}" ORDER BY ALL').fetchall() == rows, name
    store.close()
