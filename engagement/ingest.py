"""The one load path every export takes into the store, the demo brand included."""

from __future__ import annotations

import pandas as pd

from engagement.schema import KINDS
from engagement.store import LoadSummary, Store


def ingest_frame(
    store: Store,
    kind: str,
    frame: pd.DataFrame,
    *,
    source_format: str = "canonical",
    file_name: str | None = None,
    sha256: str | None = None,
    refresh_derived: bool = True,
) -> LoadSummary:
    """Load a frame of canonical columns for ``kind`` in one transaction."""
    return store.load_frame(
        kind, frame, file_name=file_name, sha256=sha256, source_format=source_format,
        refresh_derived=refresh_derived,
    )


def ingest_demo(store: Store, customers: int = 20_000, seed: int = 42) -> list[LoadSummary]:
    """Generate the demo brand and load every kind through :func:`ingest_frame`."""
    from engagement.demo import generate_demo

    frames = generate_demo(customers=customers, seed=seed)
    summaries = [
        ingest_frame(
            store, kind, frames[kind], source_format="demo",
            file_name=f"demo-{kind}-seed{seed}-n{customers}", refresh_derived=False,
        )
        for kind in KINDS
    ]
    store.refresh_derived()
    return summaries
