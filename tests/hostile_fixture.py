"""A small database whose every text field that reaches a page holds markdown and HTML written to leak.

Built through the normal load path (CSV bytes and ``ingest_bytes``, as the Data page loads an upload)
from a small demo brand, with hostile text in survey comments and touchpoints, acquisition and order
channels, campaign ids, experiment ids and variant names, programme names, a few customer ids, the
file names of the loads, a saved notebook's title, its cells' column names and error messages, a saved
column mapping, and a quarantined row. Rendered as markdown, any of them would make the viewer's
browser fetch from, or link to, ``evil.example``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

HOST = "evil.example"
# Links, images, raw HTML, emphasis, math, a colour directive, bare URLs (GFM autolinks them).
HOSTILE = (f"![b](http://{HOST}/x.png) [Claim your refund](http://{HOST}/phish) <img src=x onerror=alert(1)> "
           f"<img src=\"http://{HOST}/raw.png\"> **bold** $x$ :red[hi] http://{HOST}/bare www.{HOST}")
# File and notebook names hold no "/" (a browser never sends one; notebook names are at most 80 characters):
# "https:evil.example" is still a link to the host once a browser resolves it.
SHORT = f"![n](https:{HOST}) [nb](https:{HOST}) <b>x **b** $x$"
FILE_NAME = "{kind} ![u](https:" + HOST + ") [refund](https:" + HOST + ") <b>b **bold** $x$ :red[hi].csv"
NOTEBOOK_NAME = SHORT
CUSTOMERS = 1_500  # enough survey comments (about 350) for the comment themes to form


def _hostile(value: object) -> object:
    return value if pd.isna(value) else f"{value} {HOSTILE}"


def hostile_frames(seed: int = 11) -> dict[str, pd.DataFrame]:
    """The demo brand's exports with hostile text in every free-text field a page shows."""
    from engagement.intake.demo import generate_demo

    frames = {kind: frame.copy() for kind, frame in generate_demo(customers=CUSTOMERS, seed=seed).items()}
    customers = frames["customers"]
    renamed = {c: f"{c} {SHORT}" for c in customers["customer_id"].head(5)}
    for frame in frames.values():
        if "customer_id" in frame:
            frame["customer_id"] = frame["customer_id"].replace(renamed)
    customers["acquisition_channel"] = customers["acquisition_channel"].map(_hostile)
    customers["country"] = customers["country"].map(_hostile)
    frames["orders"]["channel"] = frames["orders"]["channel"].map(_hostile)
    for kind in ("events", "messages"):
        frames[kind]["campaign_id"] = frames[kind]["campaign_id"].map(_hostile)
    frames["events"]["channel"] = frames["events"]["channel"].map(_hostile)
    surveys = frames["surveys"]
    surveys["touchpoint"] = surveys["touchpoint"].map(_hostile)
    surveys["comment"] = surveys["comment"].map(_hostile)
    assignments = frames["experiment_assignments"]
    assignments["experiment_id"] = assignments["experiment_id"].map(_hostile)
    assignments["variant"] = assignments["variant"].where(assignments["variant"] == "control",
                                                          assignments["variant"].map(_hostile))
    costs = frames["program_costs"]
    costs["program"] = costs["program"].map(_hostile)
    costs["channel"] = costs["channel"].map(_hostile)
    return frames


def build_hostile_db(path: Path) -> Path:
    """Load :func:`hostile_frames` into a new database at ``path`` the way the Data page does."""
    from engagement.intake.ingest import ingest_bytes
    from engagement.warehouse.schema import KINDS
    from engagement.intake.saved_mappings import save_mapping
    from engagement.sql import quote_identifier
    from engagement.notebook.notebooks import Cell, Notebook, save_notebook
    from engagement.workbench import open_workbench

    store = open_workbench(path, read_only=False)
    try:
        frames = hostile_frames()
        for kind in KINDS:
            data = frames[kind].to_csv(index=False).encode("utf-8")
            result = ingest_bytes(store, kind, data, FILE_NAME.format(kind=kind))
            assert result.status == "loaded", f"{kind}: {result.message}"
        # One row quarantined (its customer is unknown): its reason and row text reach the Data page.
        first = frames["orders"].iloc[[0]].assign(order_id=f"Q-1 {SHORT}", customer_id=f"nobody {SHORT}")
        result = ingest_bytes(store, "orders", first.to_csv(index=False).encode("utf-8"),
                              FILE_NAME.format(kind="quarantine"), on_invalid="quarantine")
        assert result.status == "loaded", result.message
        save_mapping(store.cursor(), SHORT, "orders", (f"id {SHORT}", f"when {SHORT}"),
                     {"order_id": f"id {SHORT}", "ordered_at": f"when {SHORT}"})
        save_notebook(store, Notebook(name=NOTEBOOK_NAME, description=HOSTILE, cells=(
            Cell(f"SELECT 1 AS {quote_identifier(HOSTILE)}, 'x' AS {quote_identifier(SHORT)}"),
            Cell(f"SELECT * FROM \"{SHORT}\""),  # fails: DuckDB's message quotes the hostile name
            Cell("SELECT '" + HOSTILE.replace("'", "''") + "' AS comment"),
        )))
    finally:
        store.close()
    return path
