"""Shared links never crash: every query parameter of every page, given values nobody planned for.

A link is data someone else wrote. An unknown or malformed value falls back to the page's default
with a short notice; the page never shows a traceback (which would also show server paths). The
parameters are read from the pages' own ``ui.synced_*`` calls, so a new one is tested as soon as it
exists; hypothesis supplies a few hostile values for each (derandomized: the same values every run).
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ("![b](http://evil.example/x.png) [Claim your refund](http://evil.example/phish) "
           "<img src=x onerror=alert(1)> **bold** $x$ :red[hi]")
NOTEBOOK = "weekly revenue"  # saved in the test database so that ?notebook=...&notebook_version=... is reachable

# The URL keys app.py's sidebar reads (engagement/ui/sidebar.py: sidebar_filters), tested on the Overview.
SIDEBAR_KEYS = ("start", "end", "channel", "segment")
# Where a key is only read once other parameters pick the branch that shows its widget.
CONTEXT: dict[str, dict[str, str]] = {
    "nps_by": {"nps_view": "Breakdowns"},
    "nps_compare_by": {"nps_view": "Compare two groups"},
    "nps_group_a": {"nps_view": "Compare two groups"},
    "nps_group_b": {"nps_view": "Compare two groups"},
    "nps_horizon": {"nps_view": "Behaviour after the answer"},
    "nps_themes": {"nps_view": "Comment themes"},
    "nps_loop": {"nps_view": "Close the loop"},
    "cohorts_split_value": {"cohorts_split": "channel"},
    "roi_cost": {"roi_cost_source": "typed in"},
    "roi_post_days": {"roi_method": "observational"},
    "roi_threshold": {"roi_method": "observational"},
    "experiments_kind": {"experiments_source": "Typed-in summary"},
    "notebook_version": {"notebook": NOTEBOOK},
    **{key: {"experiments_source": "Per-unit file"} for key in (
        "experiments_variant_col", "experiments_control", "experiments_covariate", "experiments_segment_col",
        "experiments_metrics")},
}
UNIT_FILE = b"variant,converted,spend,segment\n" + b"".join(
    f"{'control' if i % 2 else 'treatment'},{i % 3 == 0:d},{i % 7}.5,{'ab'[i % 2]}\n".encode() for i in range(60))

# Values a link might carry: numbers Python parses but no widget can hold, dates that do not exist,
# separators, markup, paths; then whatever hypothesis writes.
ODD_VALUES = ["", "x", "nan", "inf", "-inf", "-1", "0", "1e309", "99999999999999999999", "1.5", "2026-02-30",
              "0001-01-01", ",", "a,,b", "%00", "../../../etc/passwd", "None", HOSTILE]
VALUES = st.one_of(st.sampled_from(ODD_VALUES), st.text(st.characters(blacklist_categories=("Cs",)), max_size=40))


def _key_of(call: ast.Call) -> ast.expr | None:
    position = 2 if call.func.attr in ("synced_choice", "synced_multichoice") else 1
    keyword = next((k.value for k in call.keywords if k.arg == "key"), None)
    return keyword if keyword is not None else (call.args[position] if len(call.args) > position else None)


def page_parameters() -> list[tuple[str, str]]:
    """(page file, URL key) for every ``ui.synced_*`` widget of every page, plus the sidebar's keys."""
    from engagement.value.engagement_score import BEHAVIOURS

    found = [("pages/overview.py", key) for key in SIDEBAR_KEYS]
    for path in sorted((ROOT / "pages").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr.startswith("synced_")):
                continue
            key = _key_of(node)
            page = f"pages/{path.name}"
            if isinstance(key, ast.Constant):
                found.append((page, key.value))
            elif isinstance(key, ast.JoinedStr) and ast.unparse(key) == "f'engagement_w_{name}'":
                found += [(page, f"engagement_w_{name}") for name in BEHAVIOURS]
            else:
                raise AssertionError(f"{page}:{node.lineno}: a URL key this test cannot read: {ast.unparse(key)}")
    return found


PARAMETERS = page_parameters()


@pytest.fixture(scope="module")
def link_db(demo_db_path, tmp_path_factory):
    """A writable copy of the demo database with a saved notebook and a load that quarantined a row,
    so that every page shows every widget whose value a link can set."""
    import os

    from engagement import ui
    from engagement.intake.ingest import ingest_bytes
    from engagement.notebook.notebooks import Cell, Notebook, save_notebook
    from engagement.workbench import open_workbench

    path = tmp_path_factory.mktemp("links") / "engagement.duckdb"
    shutil.copy(demo_db_path, path)
    store = open_workbench(path, read_only=False)
    save_notebook(store, Notebook(name=NOTEBOOK, cells=(Cell("SELECT count(*) AS orders FROM orders"),)))
    customer, day = store.cursor().execute(
        "SELECT min(customer_id), max(ordered_at)::date FROM orders").fetchall()[0]
    csv = ("order_id,customer_id,ordered_at,net_revenue,status\n"
           f"LINK-1,{customer},{day} 10:00:00,10.00,paid\nLINK-2,nobody-knows-me,{day} 10:00:00,10.00,paid\n")
    assert ingest_bytes(store, "orders", csv.encode(), "orders.csv", on_invalid="quarantine").status == "loaded"
    store.close()
    saved = {k: os.environ.get(k) for k in ("ENGAGEMENT_DB", "ENGAGEMENT_READ_ONLY")}
    os.environ.update(ENGAGEMENT_DB=str(path), ENGAGEMENT_READ_ONLY="")
    ui.get_store.clear()
    yield path
    ui.get_store().close()
    ui.get_store.clear()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def open_link(page: str, params: dict[str, str]) -> AppTest:
    """The app opened on ``page`` with ``params`` in the URL, as a fresh session does from a link."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()  # app.py routes a deep link through its navigation first
    if page != "pages/overview.py":
        at.switch_page(page)
        at.run()
    if params.get("experiments_source") == "Per-unit file" and not at.exception:
        at.file_uploader[0].set_value(("units.csv", UNIT_FILE, "text/csv"))
        at.run()
    return at


def assert_page_shown(at: AppTest, link: str) -> None:
    assert not at.exception, f"{link}: {[e.message for e in at.exception]}"
    assert at.title, f"{link}: no title"


def notices(at: AppTest) -> str:
    return " ".join(w.value.replace("\\", "") for w in at.warning)


@pytest.mark.parametrize("page, params, notice", [
    ("pages/sql_notebook.py", {"notebook": "does-not-exist"}, "not one this page knows"),
    ("pages/cohorts.py", {"cohorts_grain": "x"}, "not one this page knows"),
    ("pages/roi.py", {"roi_cost_source": "typed"}, "not one this page knows"),
    ("pages/nps.py", {"nps_view": "Compare two groups", "nps_group_a": "x"}, "not one this page knows"),
    ("pages/engagement.py", {"engagement_w_orders": "nan"}, "not one this page knows"),
    ("pages/experiments.py", {"experiments_split": "control=nan,treatment=inf"}, "uses the default split"),
], ids=["notebook", "cohorts_grain", "roi_cost_source", "nps_group_a", "engagement_w_orders", "experiments_split"])
def test_links_that_crashed_fall_back_with_a_notice(link_db, page, params, notice):
    at = open_link(page, params)
    assert_page_shown(at, f"{page}?{params}")
    assert notice in notices(at)
    assert "/" not in notices(at).split("instead")[0].split("(")[0]  # no server path in the notice


def test_a_refused_value_says_which_parameter_and_what_is_shown_instead(link_db):
    at = open_link("pages/cohorts.py", {"cohorts_grain": "x"})
    assert "This link's value for cohorts_grain ('x') is not one this page knows; showing 'month' instead." \
        in notices(at)
    assert at.query_params["cohorts_grain"] == "month"  # the URL now says what the page shows


def test_every_page_parameter_is_found():
    keys = {key for _, key in PARAMETERS}
    assert {"notebook", "cohorts_grain", "roi_cost_source", "nps_group_a", "engagement_w_orders",
            "experiments_split", "start", "channel"} <= keys
    assert len(PARAMETERS) == len(set(PARAMETERS)) > 50


@pytest.mark.parametrize("page, key", PARAMETERS, ids=[f"{p[6:-3]}-{k}" for p, k in PARAMETERS])
def test_no_link_value_crashes_a_page(link_db, page, key):
    @settings(max_examples=3, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(value=VALUES)
    def opens(value: str) -> None:
        params = {**CONTEXT.get(key, {}), key: value}
        assert_page_shown(open_link(page, params), f"{page}?{params}")

    opens()
