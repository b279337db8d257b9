"""The Experiments page's list of experiments and its metadata form (saved through the validated load path)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import streamlit as st

from engagement.ui.auth import can_write, current_actor
from engagement.ui.output import table
from engagement.ui.session import get_store, view_data
from engagement.ui.text import plain
from engagement.warehouse.access import WriteRefused

if TYPE_CHECKING:
    from engagement.experiments.catalog import ExperimentMetadata

# A verdict's status as a coloured badge (Streamlit markdown), shown before its sentence (which goes through plain).
VERDICT_BADGES = {"positive": ":green-badge[:material/trending_up: Raised]",
                  "negative": ":red-badge[:material/trending_down: Lowered]",
                  "inconclusive": ":gray-badge[:material/remove: No clear difference]",
                  "early": ":orange-badge[:material/hourglass_top: Too early]",
                  "untrustworthy": ":violet-badge[:material/gpp_bad: Untrustworthy]", "no_data": ":gray-badge[No data]"}


def experiment_metadata_form(experiment_id: str, meta: "ExperimentMetadata | None", arms: Sequence[str] = ()) -> None:
    """Analysts describe the experiment; the row is saved through the validated load path (a new load). ``arms``:
    the experiment's variants, which the intended split's example names."""
    from engagement.experiments.catalog import METADATA_METRICS, ExperimentMetadata
    from engagement.intake.experiment_metadata import save_metadata
    from engagement.experiments.inputs import split_example
    from engagement.experiments.options import ExperimentInputError

    store = get_store()
    meta = meta or ExperimentMetadata(experiment_id, "")
    with st.expander("Experiment metadata" + ("" if meta.name else " (not described yet)"), expanded=not meta.name):
        if meta.hypothesis:
            st.caption(f"Hypothesis: {plain(meta.hypothesis)}")
        if not can_write(store):
            st.caption("Only analysts can describe experiments here (this session cannot write); metadata can also "
                       "be loaded as an experiments export.")
            return
        with st.form(f"experiments_meta_{experiment_id}"):
            a, b = st.columns(2)
            name = a.text_input("Name", meta.name)
            programme = b.text_input("Programme (in program_costs; ROI charges it)", meta.programme)
            hypothesis = st.text_area("Hypothesis", meta.hypothesis, height=68)
            c, d, e = st.columns(3)
            primary = c.selectbox("Primary metric", ["", *METADATA_METRICS],
                                  index=([""] + list(METADATA_METRICS)).index(meta.primary_metric)
                                  if meta.primary_metric in METADATA_METRICS else 0)
            guardrails = d.multiselect("Guardrail metrics", list(METADATA_METRICS),
                                       [g for g in meta.guardrail_metrics.split(",") if g in METADATA_METRICS])
            split = e.text_input("Intended split", meta.intended_split, placeholder=plain(split_example(arms)))
            f, g, h = st.columns(3)
            planned = f.number_input("Planned units per arm (0 = not planned)", min_value=0, step=100,
                                     value=int(meta.planned_units or 0))
            start = g.date_input("Start", meta.start_date)
            end = h.date_input("End", meta.end_date)
            saved = st.form_submit_button("Save metadata")
        if saved:
            edited = ExperimentMetadata(experiment_id, name.strip(), hypothesis.strip(), programme.strip(), primary,
                                        ",".join(guardrails), split.strip(), int(planned) or None, start, end)
            try:
                result = save_metadata(store, edited, actor=current_actor())
            except (ExperimentInputError, ValueError, WriteRefused) as exc:
                st.error(plain(exc))
            else:
                st.success(f"Saved as load #{result.load_id:,}.")


def experiment_list_and_metadata(experiment_id: str, options: Any, split_typed: bool, planned_typed: bool) -> Any:
    """The Experiments page's list of every loaded experiment (as ``report experiments``) and the chosen one's
    metadata form; returns ``options`` with the metadata's split and planned units where none was typed."""
    from engagement.experiments.analysis import list_experiments
    from engagement.experiments.catalog import experiments_list, metadata_for, options_with_metadata

    listing = view_data(experiments_list)
    with st.expander("All experiments", expanded=False):
        table(listing, column_config={"srm_p_value": st.column_config.NumberColumn("SRM p", format="%.3f")})
        st.caption("One row per loaded experiment (also `report experiments`): dates and programme from its "
                   "metadata (assignment dates otherwise), sample-ratio status against the intended split "
                   "(p < 0.001 = mismatch), and the verdict of its primary metric (conversion when none is set) "
                   "with the default settings.")
    meta = view_data(metadata_for, experiment_id)
    arms = view_data(list_experiments)
    experiment_metadata_form(experiment_id, meta, arms.loc[arms.experiment_id == experiment_id, "variant"].tolist())
    return options_with_metadata(options, meta, split_typed=split_typed, planned_typed=planned_typed)


def revenue_relation_caption(results: Sequence[Any]) -> None:
    """The CUPED revenue lift beside the unadjusted difference the ROI page quotes (nothing without one)."""
    from engagement.experiments.catalog import revenue_relation

    if relation := revenue_relation(results):
        st.caption(plain(relation))
