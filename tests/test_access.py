"""Roles, the acting user of every write, and the audit trail (engagement/warehouse/access.py, warehouse/audit.py).

The store refuses a viewer's write whatever the page shows: these tests call the write paths directly, as a
crafted request reaching them would, and check that nothing changed and nothing was recorded.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from engagement.warehouse import access
from engagement.warehouse.access import ANALYST, VIEWER, Actor, RolesFileError, WriteRefused, parse_roles
from engagement.intake.ingest import ingest_bytes
from engagement.intake.saved_mappings import save_mapping
from engagement.notebook.notebooks import Cell, Notebook, list_notebooks, save_notebook
from engagement.warehouse.audit import audit_trail
from engagement.warehouse.store import Store

ANA = Actor("ana@example.com", ANALYST, "oidc")
VIC = Actor("vic@example.com", VIEWER, "oidc")
NOBODY = Actor("eve@elsewhere.org", None, "oidc")

ROLES = parse_roles('analyst = ["Ana@Example.com", "*@analytics.example.com"]\nviewer = ["*@example.com"]\n')


@pytest.mark.parametrize("email, verified, role", [
    ("ana@example.com", False, ANALYST),        # exact address: listed, case-insensitive
    ("ANA@example.com", True, ANALYST),         # exact beats the viewer domain pattern
    ("bo@analytics.example.com", True, ANALYST),
    ("bo@analytics.example.com", False, None),  # domain patterns need a verified address
    ("vic@example.com", True, VIEWER),
    ("vic@example.com", False, None),
    ("eve@example.org", True, None),            # not listed at all
    ("eve@sub.example.com", True, None),        # *@example.com is that domain only, not its subdomains
    (None, True, None),
])
def test_role_for_addresses_and_verified_domains(email, verified, role):
    assert ROLES.role_for(email, verified) == role


@pytest.mark.parametrize("text, fragment", [
    ('analyst = "ana@example.com"', "must be a list"),
    ('admin = ["ana@example.com"]', "unknown roles"),
    ('viewer = ["example.com"]', "neither an address"),
    ('viewer = ["ana*@example.com"]', "neither an address"),
    ("viewer = [", "not valid TOML"),
])
def test_bad_roles_file_is_named(text, fragment):
    with pytest.raises(RolesFileError, match=fragment):
        parse_roles(text)


def test_missing_roles_file_says_which(tmp_path):
    with pytest.raises(RolesFileError, match="Cannot read the roles file"):
        access.load_roles(tmp_path / "absent.toml")


@pytest.fixture()
def writable_demo(demo_db_path, tmp_path) -> Store:
    path = tmp_path / "engagement.duckdb"
    shutil.copy(demo_db_path, path)
    store = Store.open(path, read_only=False)
    yield store
    store.close()


def _state(store: Store) -> tuple:
    cur = store.cursor()
    return (store.table_counts(), cur.execute("SELECT count(*), count(undone_at) FROM loads").fetchall(),
            len(audit_trail(store)), len(list_notebooks(store)))


ORDERS_CSV = ("order_id,customer_id,ordered_at,net_revenue,discount,currency,channel,status\n"
              "#ACC-1,{customer},2026-01-05 10:00:00,42.00,0,USD,web,paid\n")


def _orders_file(store: Store) -> bytes:
    customer = store.cursor().execute("SELECT min(customer_id) FROM customers").fetchall()[0][0]
    return ORDERS_CSV.format(customer=customer).encode()


def test_viewer_writes_are_refused_below_the_ui(writable_demo):
    """Every write path, called as a crafted request would call it, refuses a viewer and changes nothing."""
    store = writable_demo
    before = _state(store)
    active_load = int(store.cursor().execute("SELECT max(load_id) FROM loads").fetchall()[0][0])
    for actor in (VIC, NOBODY):
        with pytest.raises(WriteRefused, match="analyst role"):
            ingest_bytes(store, "orders", _orders_file(store), "orders.csv", actor=actor)
        with pytest.raises(WriteRefused):
            store.load_frame("program_costs", pd.DataFrame(), actor=actor)
        with pytest.raises(WriteRefused):
            store.undo(active_load, actor=actor)
        with pytest.raises(WriteRefused):
            store.refresh_derived(actor=actor)
        with pytest.raises(WriteRefused):
            save_notebook(store, Notebook(name="mine", cells=(Cell("SELECT 1"),)), actor=actor)
        with pytest.raises(WriteRefused):
            store.authorize(actor, "saving a column mapping")
    assert _state(store) == before


def test_app_store_refuses_a_write_that_names_nobody(writable_demo):
    """In the app (actor_required), a write path reached without the signed-in user is refused."""
    store = writable_demo
    store.actor_required = True
    before = _state(store)
    with pytest.raises(WriteRefused, match="signed-in analyst"):
        ingest_bytes(store, "orders", _orders_file(store), "orders.csv")
    with pytest.raises(WriteRefused):
        store.undo(1)
    assert _state(store) == before


def test_audit_trail_names_who_loaded_undid_and_saved(writable_demo):
    store = writable_demo
    result = ingest_bytes(store, "orders", _orders_file(store), "orders.csv", actor=ANA)
    assert result.status == "loaded", result.message
    load_id = result.summary.load_id
    store.undo(load_id)  # no actor: the command line, an analyst
    save_notebook(store, Notebook(name="weekly", cells=(Cell("SELECT 1"),)), actor=ANA)
    save_mapping(store.cursor(), "orders from shop", "orders", ("Id", "Email"), {"order_id": "Id"},
                 actor=store.authorize(ANA, "saving a column mapping"))
    trail = audit_trail(store)
    rows = [(r.actor, r.role, r.action, r.target, None if pd.isna(r.load_id) else int(r.load_id))
            for r in trail.itertuples()]
    # Newest first: the four actions above, in reverse order.
    assert rows[:4] == [
        ("ana@example.com", ANALYST, "save column mapping", "orders from shop", None),
        ("ana@example.com", ANALYST, "save notebook", "weekly", None),
        (access.CLI_ACTOR.name, ANALYST, "undo", "orders", load_id),
        ("ana@example.com", ANALYST, "load", "orders from orders.csv", load_id),
    ]
    assert trail.iloc[3].detail == "1 new, 0 updated, 0 quarantined"


def test_a_rejected_load_leaves_no_audit_row(writable_demo):
    store = writable_demo
    before = len(audit_trail(store))
    bad = b"order_id,customer_id,ordered_at,net_revenue,discount,currency,channel,status\n#X,c1,not a date,1,0,USD,web,paid\n"
    result = ingest_bytes(store, "orders", bad, "bad.csv", actor=ANA)
    assert result.status == "rejected"
    assert len(audit_trail(store)) == before


def test_report_loads_names_who_loaded(writable_demo, capsys):
    from engagement import cli

    store = writable_demo
    result = ingest_bytes(store, "orders", _orders_file(store), "orders.csv", actor=ANA)
    path = store.path
    store.close()
    assert cli.main(["report", "loads", "--db", path, "--format", "csv", "--limit", "1"]) == 0
    out = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert out.loc[0, "load_id"] == result.summary.load_id
    assert out.loc[0, "loaded_by"] == "ana@example.com"
