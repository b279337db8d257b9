"""Loads in proportion to what changed (issue 20): stable customer keys, stages applied from the cuts, and derived
tables updated for the changed customers only, equal to a full rebuild after any sequence of loads and undos."""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest

from engagement.derived import DERIVED_TABLES
from engagement.workbench import open_workbench

from conftest import hand_fixture_frames


def _keys(store) -> dict[str, int]:
    return dict(store.cursor().execute("SELECT customer_id, customer_key FROM customer_summary").fetchall())


def test_a_customer_keeps_its_key_when_earlier_ids_arrive_and_through_an_undo():
    store = open_workbench(":memory:", read_only=False)
    for kind, frame in hand_fixture_frames().items():
        store.load_frame(kind, frame)
    before = _keys(store)
    assert sorted(before.values()) == [1, 2, 3, 4]
    # "0-new" sorts before every stored id: numbered over all customers it would take key 1 and shift the rest.
    summary = store.load_frame("orders", pd.DataFrame({
        "order_id": ["k1"], "customer_id": ["0-new"], "ordered_at": [pd.Timestamp("2025-03-02")],
        "net_revenue": [5.0], "status": ["paid"], "currency": ["USD"]}))
    after = _keys(store)
    assert {c: after[c] for c in before} == before
    assert after["0-new"] == 5
    store.undo(summary.load_id)
    assert _keys(store) == before
    store.refresh_derived()  # a full rebuild keeps the keys too
    assert _keys(store) == before
    store.close()


# ----------------------------------------------------------------------------------------------------------------
# After random small loads and undos, every derived table equals a full rebuild, row for row.


def _keep_updated_tables(cur) -> None:
    """Copies of the derived tables as the load left them (temporary tables of ``cur``)."""
    for name in DERIVED_TABLES:
        cur.execute(f'CREATE OR REPLACE TEMP TABLE "updated__{name}" AS SELECT * FROM main."{name}"')


def _tables_differing_from_kept(cur) -> dict[str, int]:
    """Rows (with their multiplicity) in one of each updated table and its rebuild but not in the other."""
    differing = {}
    for name in DERIVED_TABLES:
        rows = cur.execute(
            f'SELECT (SELECT count(*) FROM (SELECT * FROM "updated__{name}" EXCEPT ALL SELECT * FROM main."{name}")) '
            f'+ (SELECT count(*) FROM (SELECT * FROM main."{name}" EXCEPT ALL SELECT * FROM "updated__{name}"))'
        ).fetchall()[0][0]
        if rows:
            differing[name] = rows
    return differing


def _small_file(rng: random.Random, store, kind: str, step: int) -> pd.DataFrame:
    """A few rows of ``kind``: new rows of known and new customers, rows replacing stored ones (some moving to
    another customer), guest and refunded orders, dates inside the data and after its end (moving "as of")."""
    cur = store.cursor()
    known = [r[0] for r in cur.execute("SELECT customer_id FROM customer_summary ORDER BY customer_id").fetchall()]
    start, end = cur.execute("SELECT min(ordered_at), max(ordered_at) FROM orders").fetchall()[0]
    span = (end - start).total_seconds()

    def customer() -> str:
        return rng.choice(known) if rng.random() < 0.8 else f"new-{step}-{rng.randrange(5)}"

    def moment() -> pd.Timestamp:
        late = rng.random() < 0.3  # after the data's end: moves as of, and with it every recency cut
        seconds = span + rng.uniform(0, 20 * 86400) if late else rng.uniform(0, span)
        return pd.Timestamp(start) + pd.Timedelta(seconds=int(seconds))

    def stored_key(column: str) -> list[str]:
        # Seeded from the test's generator (and ordered first: a sample reads rows in storage order), so a
        # failing step can be replayed.
        return [r[0] for r in cur.execute(
            f'SELECT "{column}" FROM (SELECT "{column}" FROM "{kind}" ORDER BY 1) '
            f'USING SAMPLE reservoir(3 ROWS) REPEATABLE ({rng.randrange(1_000_000)})').fetchall()]

    n = rng.randint(1, 6)
    if kind == "orders":
        ids = [f"inc-{step}-{i}" for i in range(n)] + stored_key("order_id")
        return pd.DataFrame({
            "order_id": ids,
            "customer_id": [None if rng.random() < 0.1 else customer() for _ in ids],
            "ordered_at": [moment() for _ in ids],
            "net_revenue": [round(rng.uniform(5, 400), 2) for _ in ids],
            "discount": [rng.choice([0.0, 0.0, 5.0]) for _ in ids],
            "currency": "USD",
            "channel": [rng.choice(["web", "mobile_app"]) for _ in ids],
            "status": [rng.choice(["paid", "paid", "fulfilled", "refunded", "cancelled"]) for _ in ids],
        })
    if kind == "events":
        ids = [f"ev-{step}-{i}" for i in range(n)] + stored_key("event_id")
        types = ["email_click", "sms_click", "email_open", "site_visit"]
        return pd.DataFrame({
            "event_id": ids, "customer_id": [customer() for _ in ids], "occurred_at": [moment() for _ in ids],
            "event_type": [rng.choice(types) for _ in ids], "channel": "email",
            "campaign_id": [rng.choice(["c1", None]) for _ in ids],
        })
    if kind == "messages":
        return pd.DataFrame({
            "campaign_id": [rng.choice(["m1", "m2", f"m-{step}"]) for _ in range(n)],
            "customer_id": [customer() for _ in range(n)], "channel": [rng.choice(["email", "sms"]) for _ in range(n)],
            "sent_at": [moment() for _ in range(n)],
        }).drop_duplicates(["campaign_id", "customer_id", "channel"])
    if kind == "surveys":
        ids = [f"sv-{step}-{i}" for i in range(n)] + stored_key("response_id")
        return pd.DataFrame({
            "response_id": ids, "customer_id": [customer() for _ in ids], "responded_at": [moment() for _ in ids],
            "kind": "nps", "score": [rng.randint(0, 10) for _ in ids], "touchpoint": "post_purchase",
            "comment": [rng.choice([None, "ok"]) for _ in ids],
        })
    if kind == "experiment_assignments":
        return pd.DataFrame({
            "experiment_id": "exp-inc", "customer_id": list(dict.fromkeys(customer() for _ in range(n))),
            "variant": "treatment", "assigned_at": moment(),
        })
    ids = list(dict.fromkeys([customer() for _ in range(n)] + stored_key("customer_id")))
    return pd.DataFrame({  # customers: new records, and replaced ones (a gold tier makes a VIP)
        "customer_id": ids, "created_at": [moment() for _ in ids],
        "acquisition_channel": [rng.choice(["referral", "paid_social"]) for _ in ids], "country": "US",
        "is_loyalty_member": True, "loyalty_tier": [rng.choice(["gold", "bronze", None]) for _ in ids],
        "accepts_marketing": True,
    })


KINDS_LOADED = ("orders", "orders", "orders", "events", "messages", "surveys", "customers", "experiment_assignments")


def _loads_and_undos_equal_rebuilds(store, steps: int, seed: int, monkeypatch) -> None:
    from engagement.derived import refits as model_refits, update as derived_update

    # The model fits after each commit are not derived tables compared here (and cost most of the time).
    monkeypatch.setattr(model_refits, "refit_due", lambda cur: False)
    updated_in_place = []
    update = derived_update.update_derived
    monkeypatch.setattr(derived_update, "update_derived", lambda *a: updated_in_place.append(update(*a)) or
                        updated_in_place[-1])
    rng = random.Random(seed)
    cur = store.cursor()
    loads: list[int] = []
    for step in range(steps):
        if loads and rng.random() < 0.3:
            load_id = loads.pop(rng.randrange(len(loads)))
            try:
                store.undo(load_id)
                action = f"undo of load {load_id}"
            except ValueError:  # a later load replaced its rows, or other loads still name its customers
                continue
        else:
            kind = rng.choice(KINDS_LOADED)
            loads.append(store.load_frame(kind, _small_file(rng, store, kind, step)).load_id)
            action = f"load {loads[-1]} of {kind}"
        touched = updated_in_place.pop()  # customers the update touched; None when it rebuilt whole
        assert touched is not None, f"step {step}: the {action} rebuilt the derived tables whole"
        _keep_updated_tables(cur)
        store.refresh_derived()
        assert _tables_differing_from_kept(cur) == {}, f"step {step}, after the {action}: rows differ from a rebuild"


def test_small_loads_and_undos_into_the_demo_equal_a_full_rebuild(monkeypatch):
    from engagement.intake.ingest import ingest_demo

    store = open_workbench(":memory:", read_only=False)
    ingest_demo(store, customers=300, seed=7)
    _loads_and_undos_equal_rebuilds(store, steps=20, seed=42, monkeypatch=monkeypatch)
    store.close()


SHARED_CDNOW = Path(__file__).resolve().parents[2] / "shared" / "data" / "cdnow" / "CDNOW_master.txt"


@pytest.mark.skipif(not SHARED_CDNOW.exists(), reason="shared CDNOW data not present")
def test_small_loads_and_undos_into_cdnow_equal_a_full_rebuild(monkeypatch):
    """CDNOW (shared/data's README: 69,659 transactions of 23,570 customers, Jan 1997 - Jun 1998), written as
    tests/test_real_exports.py writes it, then random small files of every kind, some undone."""
    raw = pd.read_csv(SHARED_CDNOW, sep=r"\s+", dtype={"customer_id": str})
    store = open_workbench(":memory:", read_only=False)
    store.load_frame("orders", pd.DataFrame({
        "order_id": [f"t{i}" for i in range(len(raw))], "customer_id": raw.customer_id,
        "ordered_at": pd.to_datetime(raw.date.astype(str), format="%Y%m%d"), "net_revenue": raw.dollar_value,
        "currency": "USD", "status": "paid"}))
    assert store.cursor().execute("SELECT count(*) FROM customer_summary").fetchall() == [(23_570,)]
    _loads_and_undos_equal_rebuilds(store, steps=8, seed=7, monkeypatch=monkeypatch)
    store.close()


# ----------------------------------------------------------------------------------------------------------------
# Batch loads: several files in one transaction with one derived update.

ORDERS_CSV = "order_id,customer_id,ordered_at,net_revenue,discount,currency,channel,status\n"


def _week_files(tmp_path: Path, bad_survey: bool = False) -> list[Path]:
    orders_a = tmp_path / "orders-mon.csv"
    orders_a.write_text(ORDERS_CSV + "w1,A,2025-03-03 10:00:00,25.00,0,USD,web,paid\n"
                                     "w2,E,2025-03-03 11:00:00,40.00,0,USD,web,paid\n")
    orders_b = tmp_path / "orders-tue.csv"
    orders_b.write_text(ORDERS_CSV + "w3,B,2025-03-04 10:00:00,15.00,0,USD,web,paid\n")
    surveys = tmp_path / "surveys.csv"
    score = "11" if bad_survey else "9"  # NPS runs 0-10: 11 is refused by the surveys suite
    surveys.write_text("response_id,customer_id,responded_at,kind,score\n"
                       f"w-r1,E,2025-03-05 09:00:00,nps,{score}\n")
    return [orders_a, orders_b, surveys]


def test_ingest_with_several_files_loads_them_in_one_transaction_with_one_derived_update(tmp_path, capsys,
                                                                                         monkeypatch):
    import json

    from engagement.derived import update as derived_update
    from engagement.cli import main

    db = tmp_path / "week.duckdb"
    store = open_workbench(db, read_only=False)
    for kind, frame in hand_fixture_frames().items():
        store.load_frame(kind, frame)
    store.close()
    updates = []
    update = derived_update.update_derived
    monkeypatch.setattr(derived_update, "update_derived", lambda *a: updates.append(a[2]) or update(*a))
    orders_a, orders_b, surveys = _week_files(tmp_path)
    assert main(["ingest", "orders", str(orders_a), str(orders_b), "--also", f"surveys={surveys}",
                 "--db", str(db)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(f["status"], f["kind"], f["rows_loaded"]) for f in out["files"]] == [
        ("loaded", "orders", 2), ("loaded", "orders", 1), ("loaded", "surveys", 1)]
    # One derived update for the three loads, knowing every file's rows.
    assert len(updates) == 1 and sorted(updates[0].kinds) == ["orders", "surveys"]
    store = open_workbench(db, read_only=False)
    cur = store.cursor()
    assert cur.execute("SELECT count(*) FROM loads").fetchall() == [(6,)]
    assert cur.execute("SELECT order_count FROM customer_summary WHERE customer_id = 'E'").fetchall() == [(1,)]
    _keep_updated_tables(cur)
    store.refresh_derived()
    assert _tables_differing_from_kept(cur) == {}
    store.close()


def test_a_rejected_file_leaves_the_whole_batch_unloaded(tmp_path):
    from engagement.intake.ingest import ingest_files

    store = open_workbench(":memory:", read_only=False)
    for kind, frame in hand_fixture_frames().items():
        store.load_frame(kind, frame)
    before = store.table_counts()
    orders_a, orders_b, surveys = _week_files(tmp_path, bad_survey=True)
    results = ingest_files(store, [("orders", orders_a), ("orders", orders_b), ("surveys", surveys)])
    assert [r.status for r in results] == ["rejected"] * 3
    assert "surveys.csv in the same batch was rejected" in results[0].message
    assert store.table_counts() == before
    assert store.cursor().execute("SELECT count(*) FROM loads").fetchall() == [(3,)]
    store.close()


def test_a_batch_with_experiments_and_costs_updates_the_derived_tables_of_the_rest(tmp_path):
    """Experiments and programme costs name no customer and no derived table reads them: a batch holding them
    with orders (a brand's first week of every export) loads, and updates the derived tables for the orders.
    It failed with a binder error on the experiments' missing customer_id."""
    from engagement.intake.ingest import ingest_files

    store = open_workbench(":memory:", read_only=False)
    for kind, frame in hand_fixture_frames().items():
        store.load_frame(kind, frame)
    experiments, costs = tmp_path / "experiments.csv", tmp_path / "program_costs.csv"
    experiments.write_text("experiment_id,name,primary_metric,intended_split\nEXP-week,Week test,conversion,0.5\n")
    costs.write_text("period,program,channel,cost\n2025-03-01,loyalty,email,120.00\n")
    orders_a, _, _ = _week_files(tmp_path)
    results = ingest_files(store, [("experiments", experiments), ("orders", orders_a), ("program_costs", costs)])
    assert [r.status for r in results] == ["loaded"] * 3, [r.message for r in results]
    cur = store.cursor()
    assert cur.execute("SELECT order_count FROM customer_summary WHERE customer_id = 'E'").fetchall() == [(1,)]
    _keep_updated_tables(cur)
    store.refresh_derived()
    assert _tables_differing_from_kept(cur) == {}
    store.close()


def test_the_data_page_loads_several_files_in_one_transaction(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from engagement import ui

    monkeypatch.setenv("ENGAGEMENT_VALIDATION_ENGINE", "duckdb")  # GX costs seconds per file on a busy machine
    db = tmp_path / "db" / "engagement.duckdb"
    store = open_workbench(db, read_only=False)
    for kind, frame in hand_fixture_frames().items():
        store.load_frame(kind, frame)
    store.close()
    monkeypatch.setenv("ENGAGEMENT_DB", str(db))
    monkeypatch.setenv("ENGAGEMENT_READ_ONLY", "0")
    monkeypatch.setattr(ui.session, "require_app_shell", lambda: None)  # as tests/test_ingest.py's Data page tests
    ui.session._process_store.clear()
    try:
        at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120)
        at.run()
        at.switch_page("pages/data.py")
        at.run()
        files = [(path.name, path.read_bytes(), "text/csv") for path in _week_files(tmp_path)]
        next(u for u in at.get("file_uploader") if u.proto.multiple_files).set_value(files)
        at.run()
        next(b for b in at.button if b.label == "Validate and load all 3 files").click().run()
        assert not at.exception, at.exception
        assert [s.value for s in at.success][-3:] == [
            "orders-mon.csv: Loaded 2 of 2 rows (2 new, 0 updated).",
            "orders-tue.csv: Loaded 1 of 1 rows (1 new, 0 updated).",
            "surveys.csv: Loaded 1 of 1 rows (1 new, 0 updated).",
        ]
        assert ui.session._process_store().table_counts()["orders"] == 9
    finally:
        ui.session._process_store.clear()


# ----------------------------------------------------------------------------------------------------------------
# Model fits after the commit.

def _later_order(order_id: str) -> pd.DataFrame:
    return pd.DataFrame({"order_id": [order_id], "customer_id": ["A"], "ordered_at": [pd.Timestamp("2025-05-01")],
                         "net_revenue": [20.0], "status": ["paid"], "currency": ["USD"]})


def test_the_fits_are_refitted_after_the_commit_in_the_background_and_report_the_load_they_reflect():
    from engagement.derived.refits import fit_status, wait_for_refits

    store = open_workbench(":memory:", read_only=False)
    for kind, frame in hand_fixture_frames().items():
        store.load_frame(kind, frame)
    # The library refits before returning: the fit reflects the last load.
    assert fit_status(store) == type(fit_status(store))(3, False, None)
    store.refit_in_background = True
    summary = store.load_frame("orders", _later_order("late-1"))  # moves "as of": the default fits' dates move
    wait_for_refits(store)
    assert fit_status(store).fitted_through_load == summary.load_id and not fit_status(store).refreshing
    store.defer_refits = True
    store.load_frame("orders", _later_order("late-2"))
    status = fit_status(store)
    assert status.refreshing and status.fitted_through_load == summary.load_id
    assert status.label() == f"Model fitted with the data up to load {summary.load_id}; being refreshed."
    store.close()


def test_the_rfm_clv_page_says_which_load_the_fits_reflect_while_they_are_refreshed(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from engagement import ui

    db = tmp_path / "db" / "engagement.duckdb"
    store = open_workbench(db, read_only=False)
    for kind, frame in hand_fixture_frames().items():
        store.load_frame(kind, frame)
    store.defer_refits = True  # as `ingest --defer-fits`: the app finds the fits lagging
    store.load_frame("orders", _later_order("late-1"))
    store.close()
    monkeypatch.setenv("ENGAGEMENT_DB", str(db))
    monkeypatch.setenv("ENGAGEMENT_READ_ONLY", "0")
    monkeypatch.setattr(ui.session, "require_app_shell", lambda: None)
    # The app starts refitting lagging fits when it opens the database; held here, so the page is seen meanwhile.
    from engagement.derived import refits as model_refits

    import threading

    hold = threading.Event()
    monkeypatch.setattr(model_refits, "refit_now", lambda store, refit, restore=None: hold.wait(120) and False)
    ui.session._process_store.clear()
    try:
        at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120)
        at.run()
        at.switch_page("pages/rfm_clv.py")
        at.run()
        assert not at.exception, at.exception
        assert any("up to load 3; being refreshed" in info.value for info in at.info)
    finally:
        hold.set()
        ui.session._process_store.clear()


# ----------------------------------------------------------------------------------------------------------------
# The tail path (engagement/derived/tail.py): customers whose change is only at the end of their history.

def _sixty_customers():
    """60 customers with 3 purchases each, customer cNN's last on 2025-03-02 + NN days (a write naming a few of
    them stays under the share that rebuilds everything)."""
    start = pd.Timestamp("2025-01-01")
    rows = [(f"b{c:02d}-{i}", f"c{c:02d}", start + pd.Timedelta(days=30 * i + c), 10.0 + c + i)
            for c in range(60) for i in range(3)]
    store = open_workbench(":memory:", read_only=False)
    store.load_frame("orders", pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at", "net_revenue"])
                     .assign(status="paid", currency="USD"))
    # s1 exists through a survey answer only (an implied customer: created at its first activity).
    store.load_frame("surveys", pd.DataFrame({"response_id": ["r1"], "customer_id": ["s1"],
                                              "responded_at": [pd.Timestamp("2025-04-01")], "kind": ["nps"],
                                              "score": [9]}))
    return store


def _orders(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at", "net_revenue"]).assign(
        status="paid", currency="USD")


def _spy_on_the_tail(monkeypatch) -> list[dict[str, tuple[int, int]]]:
    """Per derived update: the tail customers -> (purchases kept, added); the update is checked not rebuilt whole."""
    from engagement.derived import refits as model_refits, tail, update as derived_update

    monkeypatch.setattr(model_refits, "refit_due", lambda cur: False)
    seen: list[dict] = []
    classify = tail.classify

    def spied(cur, *args):
        name = classify(cur, *args)
        seen.append({c: (k, a) for c, k, a in cur.execute(f"SELECT customer_id, kept, added FROM {name}").fetchall()})
        return name

    monkeypatch.setattr(tail, "classify", spied)
    update = derived_update.update_derived

    def not_rebuilt(*args):
        touched = update(*args)
        assert touched is not None, "the write rebuilt the derived tables whole"
        return touched

    monkeypatch.setattr(derived_update, "update_derived", not_rebuilt)
    return seen


def _equals_a_rebuild(store) -> None:
    cur = store.cursor()
    _keep_updated_tables(cur)
    store.refresh_derived()
    assert _tables_differing_from_kept(cur) == {}


def test_appends_after_the_last_purchase_take_the_tail_path_and_equal_a_rebuild(monkeypatch):
    store = _sixty_customers()
    seen = _spy_on_the_tail(monkeypatch)
    at = pd.Timestamp("2025-06-01 10:00")
    load = store.load_frame("orders", _orders(
        ("t-b", "c01", at, 20.0), ("t-a", "c01", at, 30.0),  # a tie among the added: numbered by order id
        ("t-c", "c02", at + pd.Timedelta(days=3), 25.0),
        ("t-d", "n1", at, 40.0),  # a new customer: the whole history is the tail
        ("t-s", "s1", pd.Timestamp("2025-03-15"), 8.0),  # s1's first purchase, before its first answer
        ("t-e", "c03", pd.Timestamp("2025-01-20"), 15.0),  # a backfill before c03's last purchase: not a tail
        # At the exact time of c04's last purchase (b04-2), with an order id sorting before it: it is numbered
        # before that purchase, so c04's change is not at the end of its history.
        ("a04", "c04", pd.Timestamp("2025-03-06"), 12.0),
    ))
    tails = seen[-1]
    assert {c: tails[c] for c in ("c01", "c02", "n1", "s1")} == {
        "c01": (3, 2), "c02": (3, 1), "n1": (0, 1), "s1": (0, 1)}
    assert "c03" not in tails and "c04" not in tails
    cur = store.cursor()
    assert cur.execute("SELECT created_at FROM customer_facts WHERE customer_id = 's1'").fetchall() == [
        (pd.Timestamp("2025-03-15").to_pydatetime(),)]
    assert cur.execute("SELECT order_id, order_number, previous_ordered_at FROM order_facts WHERE customer_id = 'c01' "
                       "AND order_number > 3 ORDER BY 2").fetchall() == [
        ("t-a", 4, pd.Timestamp("2025-03-03").to_pydatetime()), ("t-b", 5, at.to_pydatetime())]
    _equals_a_rebuild(store)
    # The undo of that latest load removes each tail customer's latest purchases.
    store.undo(load.load_id)
    tails = seen[-1]
    assert {c: tails[c] for c in ("c01", "c02", "n1")} == {"c01": (3, 0), "c02": (3, 0), "n1": (0, 0)}
    assert "c03" not in tails and "c04" not in tails
    _equals_a_rebuild(store)


def test_an_undo_of_purchases_before_the_last_takes_the_general_path_and_equals_a_rebuild(monkeypatch):
    store = _sixty_customers()
    seen = _spy_on_the_tail(monkeypatch)
    backfill = store.load_frame("orders", _orders(("t-f", "c05", pd.Timestamp("2025-02-01"), 9.0)))
    assert "c05" not in seen[-1]
    store.load_frame("orders", _orders(("t-g", "c06", pd.Timestamp("2025-07-01"), 9.0)))
    assert seen[-1]["c06"] == (3, 1)
    _equals_a_rebuild(store)
    store.undo(backfill.load_id)  # c05's removed purchase is its second of four, not its latest
    assert "c05" not in seen[-1]
    _equals_a_rebuild(store)


def test_a_purchase_in_the_period_of_the_customers_last_one_counts_the_customer_active_once(monkeypatch):
    """c58 (a VIP: its revenue is in the top decile) buys again on the day of its last purchase, before "as of":
    its stage and cohort stay, so cohort_cells and purchase_days add the new purchase alone; that period was
    already active for it (tail.TAIL_SUMS), before the purchase and after its undo."""
    store = _sixty_customers()
    seen = _spy_on_the_tail(monkeypatch)
    stage = "SELECT lifecycle_stage FROM customer_summary WHERE customer_id = 'c58'"
    assert store.cursor().execute(stage).fetchall() == [("vip",)]
    load = store.load_frame("orders", _orders(("t-h", "c58", pd.Timestamp("2025-04-29 12:00"), 20.0)))
    assert seen[-1]["c58"] == (3, 1) and store.cursor().execute(stage).fetchall() == [("vip",)]
    _equals_a_rebuild(store)
    store.undo(load.load_id)
    assert seen[-1]["c58"] == (3, 0)
    _equals_a_rebuild(store)


def test_an_undo_leaving_customers_without_purchases_keeps_their_facts_without_the_general_path(monkeypatch):
    """The undo of the load that brought a customer's every purchase: customer_facts' general path (its SQL over
    the orders, order facts and events narrowed to the customers by a scan of every row's id) reads only the
    customer whose first activity is the removed purchase and who has another left (s2); k1 (a customers record),
    s1 (an earlier survey answer) and n1 (nothing else: its row goes) are set from their stored rows
    (tail.facts_emptied). Before, all four took the general path."""
    from engagement.derived import update as derived_update

    store = _sixty_customers()
    seen = _spy_on_the_tail(monkeypatch)
    store.load_frame("customers", pd.DataFrame({
        "customer_id": ["k1"], "created_at": [pd.Timestamp("2025-01-05")], "acquisition_channel": ["referral"],
        "country": ["US"], "is_loyalty_member": [True], "loyalty_tier": ["gold"], "accepts_marketing": [True]}))
    store.load_frame("surveys", pd.DataFrame({"response_id": ["r2"], "customer_id": ["s2"],
                                              "responded_at": [pd.Timestamp("2025-06-01")], "kind": ["nps"],
                                              "score": [7]}))
    load = store.load_frame("orders", _orders(
        ("u-n", "n1", pd.Timestamp("2025-05-01"), 40.0), ("u-k", "k1", pd.Timestamp("2025-05-02"), 30.0),
        ("u-s", "s1", pd.Timestamp("2025-05-03"), 20.0), ("u-t", "s2", pd.Timestamp("2025-05-04"), 10.0),
        ("u-c", "c01", pd.Timestamp("2025-06-01"), 15.0)))
    _equals_a_rebuild(store)
    general: list[set[str]] = []
    replace = derived_update._Update._replace_rows

    def recording(self, name, affected, select):
        if name == "customer_facts":
            general.append({r[0] for r in self.cur.execute(f'SELECT customer_id FROM "{affected}"').fetchall()})
        return replace(self, name, affected, select)

    monkeypatch.setattr(derived_update._Update, "_replace_rows", recording)
    store.undo(load.load_id)
    assert {c: seen[-1][c] for c in ("n1", "k1", "s1", "s2", "c01")} == {
        "n1": (0, 0), "k1": (0, 0), "s1": (0, 0), "s2": (0, 0), "c01": (3, 0)}
    assert general == [{"s2"}]
    cur = store.cursor()
    facts = {r[0]: r[1:] for r in cur.execute(
        "SELECT customer_id, order_count, created_at FROM customer_facts WHERE customer_id IN ('n1', 'k1', 's1', 's2')"
    ).fetchall()}
    assert facts == {"k1": (0, pd.Timestamp("2025-01-05").to_pydatetime()),  # from the record and the answers
                     "s1": (0, pd.Timestamp("2025-04-01").to_pydatetime()),
                     "s2": (0, pd.Timestamp("2025-06-01").to_pydatetime())}
    _equals_a_rebuild(store)


def test_a_customer_named_by_two_kinds_of_a_batch_counts_once_toward_the_refits(tmp_path, monkeypatch):
    """The number of customers a write changed (it feeds the refit decision, refits.REFIT_SHARE) counts each
    customer once, as the full-rebuild threshold does; it was a sum over kinds (a customer in the orders and the
    surveys of one batch counted twice)."""
    from engagement.derived import update as derived_update
    from engagement.intake.ingest import ingest_demo, ingest_files

    monkeypatch.setenv("ENGAGEMENT_VALIDATION_ENGINE", "duckdb")  # GX costs seconds per file on a busy machine
    store = open_workbench(":memory:", read_only=False)
    ingest_demo(store, customers=300, seed=7)
    a, b = (r[0] for r in store.cursor().execute(
        "SELECT customer_id FROM customers ORDER BY customer_id LIMIT 2").fetchall())
    day = store.cursor().execute("SELECT max(ordered_at)::DATE FROM orders").fetchall()[0][0]
    counted = []
    update = derived_update.update_derived
    monkeypatch.setattr(derived_update, "update_derived", lambda *a: counted.append(update(*a)) or counted[-1])
    orders, surveys = tmp_path / "orders.csv", tmp_path / "surveys.csv"
    orders.write_text(ORDERS_CSV + f"w1,{a},{day} 23:00:00,25.00,0,USD,web,paid\n"
                                   f"w2,{b},{day} 23:10:00,40.00,0,USD,web,paid\n")
    surveys.write_text(f"response_id,customer_id,responded_at,kind,score\nw-r1,{a},{day} 23:20:00,nps,9\n")
    results = ingest_files(store, [("orders", orders), ("surveys", surveys)])
    assert [r.status for r in results] == ["loaded"] * 2, [r.message for r in results]
    assert counted == [2]  # a and b (a named by both files): hand count of the files above
    store.close()


def test_the_at_risk_cut_is_kept_without_the_percentile_only_while_the_gaps_round_to_it(monkeypatch):
    """dataset_facts after a write skips the 80th percentile of the gaps between purchases when counting the gaps
    shows it still rounds to the stored cut (engagement/derived/gap_cut.py), and computes it when it moved."""
    from engagement.derived import gap_cut

    store = _sixty_customers()  # 120 gaps of 30 days: the percentile is 30, the at-risk cut 30 days
    _spy_on_the_tail(monkeypatch)
    kept = []
    find = gap_cut.kept_gap_cut
    monkeypatch.setattr(gap_cut, "kept_gap_cut", lambda cur: kept.append(find(cur)) or kept[-1])
    cuts = "SELECT at_risk_days, lapsed_days FROM dataset_facts"
    assert store.cursor().execute(cuts).fetchall() == [(30, 180)]
    store.load_frame("orders", _orders(("g-1", "c01", pd.Timestamp("2025-03-05"), 5.0)))  # a gap of 2 days
    assert kept[-1] is not None and store.cursor().execute(cuts).fetchall() == [(30, 180)]
    _equals_a_rebuild(store)
    # 40 gaps of 100 days (10 customers, 16 % of them): of 161 gaps sorted, the percentile's (rank 128) is 100.
    load = store.load_frame("orders", _orders(*(
        (f"g-{c}-{i}", f"c{c:02d}", pd.Timestamp("2025-03-02") + pd.Timedelta(days=c + 100 * i), 5.0)
        for c in range(10, 20) for i in range(1, 5))))
    assert kept[-1] is None and store.cursor().execute(cuts).fetchall() == [(100, 200)]
    _equals_a_rebuild(store)
    store.undo(load.load_id)
    assert kept[-1] is None and store.cursor().execute(cuts).fetchall() == [(30, 180)]
    _equals_a_rebuild(store)
