"""Saving one experiment's metadata from the Experiments page: the same validated load path as an
``experiments`` export. It lives in intake because only intake (and the presentation layer) writes loads; the
checks it runs first are the catalogue's (``engagement/experiments/catalog.py``)."""

from __future__ import annotations

from engagement.experiments.catalog import ExperimentMetadata, check_metadata
from engagement.intake.ingest import ingest_frame
from engagement.warehouse.access import Actor
from engagement.warehouse.store import Store


def save_metadata(store: Store, meta: ExperimentMetadata, actor: Actor | None = None):
    """Store one experiment's metadata through the validated load path (replacing its earlier row).

    ``actor``: who saves (the signed-in user in the app; a viewer is refused by the store, as for any load).
    """
    check_metadata(meta)
    return ingest_frame(store, "experiments", meta.as_frame(), source_format="canonical",
                        file_name=f"experiments page: {meta.experiment_id}", refresh_derived=False, actor=actor)
