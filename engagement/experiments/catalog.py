"""Experiment metadata (the ``experiments`` export kind) and the experiments list built on it.

Metadata says what an experiment was for: name, hypothesis, the programme that pays for it (ROI charges that
programme's cost), primary and guardrail metrics, intended split, planned units per arm and dates. It loads
like any export (``ingest experiments FILE``) and analysts edit it on the Experiments page, which saves one row
through the same validated path (``engagement.intake.experiment_metadata.save_metadata``: analyses never import
intake). The list gives every assigned experiment its dates, arms, units, sample-ratio
status and the verdict of its primary metric, as GrowthBook's experiment list does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from engagement import metrics
from engagement.experiments.analysis import (STORE_METRICS, ExperimentQuery, experiment_analysis, intended_split,
                                             list_experiments)
from engagement.experiments.inputs import parse_split
from engagement.experiments.options import AnalysisOptions, ExperimentInputError
from engagement.stats import abstats
from engagement.warehouse.store import Store

# The metrics a loaded experiment measures, which a primary or guardrail metric must name.
METADATA_METRICS: tuple[str, ...] = tuple(k for k in STORE_METRICS if k != "event_rate")
DEFAULT_PRIMARY = "conversion"  # when the metadata names none: what every e-mail test is judged on first


@dataclass(frozen=True)
class ExperimentMetadata:
    experiment_id: str
    name: str
    hypothesis: str = ""
    programme: str = ""
    primary_metric: str = ""
    guardrail_metrics: str = ""
    intended_split: str = ""
    planned_units: int | None = None
    start_date: date | None = None
    end_date: date | None = None

    def as_frame(self) -> pd.DataFrame:
        """One canonical row for :func:`engagement.intake.ingest.ingest_frame` (blank text stored as NULL)."""
        row = {k: (v if v not in ("", None) else None) for k, v in self.__dict__.items()}
        return pd.DataFrame([row]).astype({"planned_units": "Int64"})


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA else str(value)


def experiment_metadata(store: Store, cursor=None) -> pd.DataFrame:
    """Every described experiment (``sql/experiments/metadata.sql``); empty on a database from before the kind."""
    if not store.has_table("experiments", cursor):
        return pd.DataFrame(columns=list(ExperimentMetadata.__dataclass_fields__))
    return store.query("experiments/metadata", cursor=cursor)


def metadata_for(store: Store, experiment_id: str, cursor=None) -> ExperimentMetadata | None:
    frame = experiment_metadata(store, cursor)
    row = frame[frame["experiment_id"] == experiment_id]
    if row.empty:
        return None
    r = row.iloc[0]
    units = r["planned_units"]
    return ExperimentMetadata(
        experiment_id, _text(r["name"]), _text(r["hypothesis"]), _text(r["programme"]), _text(r["primary_metric"]),
        _text(r["guardrail_metrics"]), _text(r["intended_split"]),
        None if units is None or pd.isna(units) else int(units),
        None if pd.isna(r["start_date"]) else pd.Timestamp(r["start_date"]).date(),
        None if pd.isna(r["end_date"]) else pd.Timestamp(r["end_date"]).date(),
    )


def check_metadata(meta: ExperimentMetadata) -> ExperimentMetadata:
    """Refuse, with the reason, what the suite would refuse and what it cannot see (split syntax, metric names)."""
    if not meta.experiment_id.strip() or not meta.name.strip():
        raise ExperimentInputError("An experiment needs an id and a name.")
    parse_split(meta.intended_split)  # raises with the expected format
    for metric in filter(None, [meta.primary_metric, *meta.guardrail_metrics.split(",")]):
        if metric.strip() not in METADATA_METRICS:
            raise ExperimentInputError(f"{metric.strip()!r} is not a metric of loaded experiments; use one of "
                                       f"{', '.join(METADATA_METRICS)}.")
    if meta.planned_units is not None and meta.planned_units < 1:
        raise ExperimentInputError("Planned units per arm must be at least 1 (leave it empty when not planned).")
    if meta.start_date and meta.end_date and meta.end_date < meta.start_date:
        raise ExperimentInputError(f"The end date {meta.end_date} is before the start date {meta.start_date}.")
    return meta


def analysis_query(store: Store, experiment_id: str, options: AnalysisOptions | None = None,
                   cursor=None) -> ExperimentQuery:
    """The query the list judges an experiment by: its metadata's intended split and planned units, if any."""
    options = options or AnalysisOptions()
    meta = metadata_for(store, experiment_id, cursor)
    if meta is not None:
        changes: dict[str, Any] = {}
        if meta.intended_split:
            changes["intended_split"] = parse_split(meta.intended_split)
        if meta.planned_units:
            changes["planned_n_per_arm"] = meta.planned_units
        if changes:
            options = AnalysisOptions(**{**options.__dict__, **changes})
    return ExperimentQuery(experiment_id, options=options)


def sample_ratio(store: Store, experiment_id: str, cursor=None, arms: pd.DataFrame | None = None) -> abstats.SrmCheck:
    """The Experiments page's sample-ratio check for one experiment without analysing its metrics: units per arm
    against the intended split (the metadata's, else the demo's plan, else equal shares), over every arm.

    ROI quotes this number, so a three-arm test at 1/3 each is not flagged for a control that holds a third of
    the units (comparing control with the rest at 50/50 did that).
    """
    arms = list_experiments(store, cursor) if arms is None else arms
    arms = arms[arms["experiment_id"] == experiment_id]
    split = dict(analysis_query(store, experiment_id, cursor=cursor).options.intended_split)
    split = split or dict(intended_split(store, experiment_id, cursor))
    counts = {str(v): int(n) for v, n in zip(arms["variant"], arms["units"])}
    return abstats.sample_ratio_check(counts, split or None)


def experiments_list(store: Store, cursor=None) -> pd.DataFrame:
    """One row per assigned experiment: metadata, dates, arms, units, sample-ratio status, primary verdict."""
    arms = list_experiments(store, cursor)
    rows = []
    for experiment_id, group in arms.groupby("experiment_id", sort=False):
        meta = metadata_for(store, experiment_id, cursor)
        primary = (meta.primary_metric if meta and meta.primary_metric else DEFAULT_PRIMARY)
        analysis = experiment_analysis(store, analysis_query(store, experiment_id, cursor=cursor), cursor)
        result = next((r for r in analysis.results if r.metric == primary and r.segment == "all"), None)
        rows.append({
            "experiment_id": experiment_id, "name": meta.name if meta else "",
            "programme": meta.programme if meta else "",
            "start": (meta.start_date if meta and meta.start_date else pd.Timestamp(group["first_assigned_at"].min()).date()),
            "end": (meta.end_date if meta and meta.end_date else pd.Timestamp(group["last_assigned_at"].max()).date()),
            "arms": ", ".join(map(str, group["variant"])), "units": int(group["units"].sum()),
            "srm_p_value": analysis.srm.p_value,
            "srm_status": "mismatch" if analysis.srm.p_value < abstats.SRM_THRESHOLD else "ok",
            "primary_metric": primary, "primary_status": result.status if result else "no_data",
            "primary_verdict": result.verdict if result else "",
        })
    return pd.DataFrame(rows, columns=["experiment_id", "name", "programme", "start", "end", "arms", "units",
                                       "srm_p_value", "srm_status", "primary_metric", "primary_status",
                                       "primary_verdict"])


def options_with_metadata(options: AnalysisOptions, meta: ExperimentMetadata | None, split_typed: bool = False,
                          planned_typed: bool = False) -> AnalysisOptions:
    """``options`` with the metadata's intended split and planned units where the analyst typed none."""
    changes: dict[str, Any] = {}
    if meta is not None and not split_typed and meta.intended_split:  # the plan the analyst wrote down
        changes["intended_split"] = parse_split(meta.intended_split)
    if meta is not None and not planned_typed and meta.planned_units:
        changes["planned_n_per_arm"] = meta.planned_units
    return AnalysisOptions(**{**options.__dict__, **changes}) if changes else options


def revenue_relation(results) -> str:
    """The CUPED-adjusted revenue lift beside the unadjusted difference ROI quotes, and how they relate ("" when
    no revenue result is CUPED-adjusted)."""
    revenue = [r for r in results if r.metric == "revenue_per_customer" and r.estimate.test.startswith("CUPED")]
    if not revenue:
        return ""
    named = metrics.metric("revenue_per_customer_lift_cuped")
    adjusted = ", ".join(f"{r.variant} {metrics.format_change(named.key, r.estimate.absolute_lift)} per customer"
                         for r in revenue)
    plain = ", ".join(metrics.format_change(named.key, r.estimate.mean_variant - r.estimate.mean_control)
                      for r in revenue)
    return f"{named.label}: {adjusted} (unadjusted difference of means: {plain}). {named.relates_to}"
