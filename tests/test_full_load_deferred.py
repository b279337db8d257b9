"""A full load leaves the stored views to after its commit (issue 20): the caches of the pages' default queries
are dropped by a full rebuild, as by an incremental write, and built after the commit, so the load does not wait
for them; readers run the queries on demand meanwhile, and the CLI builds them before it exits (unless
``--defer-fits``)."""

from __future__ import annotations

import json

import pandas as pd

from engagement import derived
from engagement.derived.refits import restore_now
from engagement.retention import rfm
from engagement.value import kpis
from engagement.workbench import open_workbench


def _stored(store) -> dict[str, bool]:
    return {name: store.stored_view_params(name) is not None for name in derived.STORED_VIEWS}


def test_a_full_rebuild_builds_no_stored_view_in_its_write_and_readers_get_the_same_rows_meanwhile(monkeypatch):
    from engagement.intake.ingest import ingest_demo

    store = open_workbench(":memory:", read_only=False)
    ingest_demo(store, customers=300, seed=7)
    filters = kpis.default_filters(kpis.data_range(store))
    built = rfm.customer_scores(store, filters)  # read from the stored tables
    assert all(_stored(store).values())
    in_write: list[str] = []
    build_entry = derived.build_entry

    def recording(store_, cur, name):
        in_write.append(name)
        return build_entry(store_, cur, name)

    monkeypatch.setattr(derived, "build_entry", recording)
    store.defer_refits = True  # as `ingest --defer-fits`: nothing runs after the commit
    store.refresh_derived()
    assert "order_facts" in in_write and not set(in_write) & set(derived.DEFERRED)
    assert not any(_stored(store).values())
    assert not store.has_table(rfm.STORED_SCORES)
    on_demand = rfm.customer_scores(store, filters)  # the view's query, run on demand
    pd.testing.assert_frame_equal(on_demand.sort_values("customer_id", ignore_index=True),
                                  built.sort_values("customer_id", ignore_index=True))
    assert restore_now(store, derived.restore_deferred)  # what the commit's after-step runs
    assert all(_stored(store).values()) and store.has_table(rfm.STORED_SCORES)
    store.close()


def test_a_refit_builds_again_the_stored_views_a_write_dropped_after_they_were_restored(monkeypatch):
    """After a commit the stored views are restored in one transaction and the fits refitted in a second; a write
    committed between the two (the Data page's undo right after a load) drops the views again, and the churn fit read
    its features' settings from a missing table (TypeError, the fit kept as it was). The refit's transaction builds
    them first."""
    import warnings

    from engagement.derived import refits
    from engagement.intake.ingest import ingest_demo
    from engagement.warehouse.background import worker_for

    store = open_workbench(":memory:", read_only=False)
    ingest_demo(store, customers=300, seed=7)
    store.defer_refits = True
    store.refresh_derived()  # a write: the stored views dropped, the fits due
    assert not any(_stored(store).values()) and refits.refit_due(store.cursor())
    # The views were restored, then a write dropped them again before the refit's transaction began.
    monkeypatch.setattr(refits, "restore_now", lambda store_, restore, publish=True: True)
    worker = worker_for(store, refits.PURPOSE)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # the failed refit's warning would raise here
        refits._refit_keeping_the_previous_fit(store, derived.refit_models, worker, derived.restore_deferred)
    assert worker.error is None
    assert all(_stored(store).values()) and not refits.refit_due(store.cursor())
    assert store.cursor().execute("SELECT count(*) FROM churn_default_model").fetchall()[0][0] == 1
    store.close()


def _orders_csv(path):
    rows = [(f"o{c}-{i}", f"c{c}", pd.Timestamp("2025-01-01") + pd.Timedelta(days=7 * c + 40 * i),
             10.0 + c + i, 0, "USD", "web", "paid") for c in range(30) for i in range(1 + c % 4)]
    frame = pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at", "net_revenue", "discount",
                                        "currency", "channel", "status"])
    frame.to_csv(path, index=False)
    return path


def test_the_cli_full_load_leaves_the_stored_views_built_unless_fits_are_deferred(tmp_path, capsys):
    from engagement.cli import main

    csv = _orders_csv(tmp_path / "orders.csv")
    for deferred in (False, True):
        db = tmp_path / f"brand-{deferred}.duckdb"
        args = ["ingest", "orders", str(csv), "--db", str(db)] + (["--defer-fits"] if deferred else [])
        assert main(args) == 0
        store = open_workbench(db, read_only=True)
        assert set(_stored(store).values()) == {not deferred}, deferred
        store.close()
    capsys.readouterr()
    assert main(["refit", "--db", str(db)]) == 0
    assert json.loads(capsys.readouterr().out) == {"refitted": True}
    store = open_workbench(db, read_only=True)
    assert all(_stored(store).values())
    store.close()
