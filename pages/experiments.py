"""Experiments: did a personalised campaign really work? Health checks first, then lifts and verdicts."""

import pandas as pd
import streamlit as st

from engagement import ui
from engagement.stats import abstats
from engagement.notebook.export import LibraryCall
from engagement.charts.experiments import forest_plot
from engagement.experiments.inputs import (
    guess_variant_column, parse_split, read_unit_file, summary_analysis, unit_file_analysis,
)
from engagement.experiments.analysis import (
    RESULTS_METHOD_NOTE, SEGMENT_BY_OPTIONS, AnalysisOptions, ExperimentInputError, ExperimentQuery,
    experiment_analysis, guess_control, list_experiments, result_records, results_table, srm_table, with_options,
)
from engagement.warehouse.schema import ENGAGEMENT_EVENT_TYPES

st.title("Experiments")
st.caption("Did the personalised campaign really work, and by how much? The sample-ratio check comes first: if "
           "it fails, no lift below can be trusted. The sidebar filters do not apply here: an experiment is "
           "analysed on everyone it assigned (use the segment breakdown instead).")

source = ui.synced_choice("Data", ["Loaded experiment", "Per-unit file", "Typed-in summary"],
                          key="experiments_source", widget=st.segmented_control) or "Loaded experiment"

with st.expander("Analysis settings", expanded=False):
    c1, c2, c3, c4, c5 = st.columns(5)
    correction = ui.synced_choice(
        "Multiple-testing correction", ["holm", "bh", "none"], key="experiments_correction", widget=c1.selectbox,
        format_func={"holm": "Holm (family-wise)", "bh": "Benjamini-Hochberg (FDR)", "none": "None"}.get,
        help="Applied across every variant x metric (and segment) p-value.")
    alpha = ui.synced_choice("Significance level", [0.05, 0.01, 0.1], key="experiments_alpha", widget=c2.selectbox)
    cuped = ui.synced_choice("CUPED adjustment", ["on", "off"], key="experiments_cuped", widget=c3.radio,
                             horizontal=True, help="Regression adjustment for pre-period revenue (or the file's "
                                                   "covariate column): same estimate on average, less noise.")
    sequential = ui.synced_choice("Always-valid (sequential) view", ["off", "on"], key="experiments_sequential",
                                  widget=c4.radio, horizontal=True,
                                  help="Intervals and p-values that stay valid however often you look.")
    planned = ui.synced_number("Planned units per arm (0 = not set)", key="experiments_planned", default=0,
                               min_value=0, step=500, widget=c5.number_input,
                               help="Reading a fixed-size test before this size is flagged as too early.")
    split_text = ui.synced_text("Intended split", key="experiments_split", placeholder="e.g. control=50,treatment=50",
                                help="Shares per variant for the sample-ratio check. Empty: the split in the "
                                     "experiment's metadata (or the demo's plan), otherwise an equal split.")
try:
    intended_split = parse_split(split_text)
except ExperimentInputError as exc:  # typed or from a shared link: the check goes on with the default split
    st.warning(f"{ui.plain(exc)} The sample-ratio check uses the default split instead.")
    intended_split = ()
try:
    options = AnalysisOptions(correction=correction, alpha=float(alpha), use_cuped=cuped == "on",
                              sequential=sequential == "on", planned_n_per_arm=int(planned) or None,
                              intended_split=intended_split)
except ExperimentInputError as exc:
    st.error(ui.plain(exc))
    st.stop()

analysis = None
try:
    if source == "Loaded experiment":
        catalogue = ui.view_data(list_experiments)
        if catalogue.empty:
            st.info("No experiment assignments are loaded. Load an experiment_assignments export on the Data page, "
                    "or analyse a per-unit file.")
            st.stop()
        left, mid, right, far = st.columns(4)
        experiment_id = ui.synced_choice("Experiment", list(dict.fromkeys(catalogue["experiment_id"])),
                                         key="experiments_id", widget=left.selectbox)
        window = ui.synced_number(
            "Days measured after assignment", key="experiments_window", default=30, min_value=1, max_value=365,
            widget=mid.number_input)
        event = ui.synced_choice("Extra metric: customers with event", ["none", *ENGAGEMENT_EVENT_TYPES],
                                 key="experiments_event", widget=right.selectbox)
        segment_by = ui.synced_choice("Segment breakdown", list(SEGMENT_BY_OPTIONS), key="experiments_segment",
                                      widget=far.selectbox,
                                      format_func=lambda o: "No breakdown" if o == "none" else o.replace("_", " "))
        options = ui.experiment_list_and_metadata(experiment_id, options, bool(split_text), bool(planned))
        arms = sorted(catalogue.loc[catalogue["experiment_id"] == experiment_id, "variant"].astype(str))
        if "control" not in arms:  # no arm called control: let the user say which one it is
            options = with_options(options, control=ui.synced_choice(
                "Control variant", arms, key="experiments_loaded_control", default=guess_control(arms)))
        query = ExperimentQuery(experiment_id, int(window), segment_by, None if event == "none" else event, options)
        analysis = ui.view_data(experiment_analysis, query)
    elif source == "Per-unit file":
        upload = st.file_uploader("One row per unit: a variant column, metric columns (0/1 columns are rates), "
                                  "optionally a pre-period covariate", type=["csv", "gz", "parquet"])
        if upload is None:
            st.info("Upload a CSV, CSV.gz or Parquet file, e.g. the Hillstrom e-mail test "
                    "(segment, visit, conversion, spend, history).")
            st.stop()
        frame = read_unit_file(upload, upload.name)
        columns = list(frame.columns)
        a, b, c, d = st.columns(4)
        variant_col = ui.synced_choice("Variant column", columns, key="experiments_variant_col", widget=a.selectbox,
                                       default=guess_variant_column(frame))
        variants = sorted(frame[variant_col].dropna().astype(str).unique())
        control = ui.synced_choice("Control variant", variants, key="experiments_control",
                                   default=guess_control(variants), widget=b.selectbox)
        covariate = ui.synced_choice("Covariate (CUPED)", ["none", *columns], key="experiments_covariate",
                                     widget=c.selectbox)
        segment_col = ui.synced_choice("Segment column", ["none", *columns], key="experiments_segment_col",
                                       widget=d.selectbox)
        metrics = ui.synced_multichoice("Metric columns", [x for x in columns if x != variant_col],
                                        key="experiments_metrics")
        if not metrics:
            st.info("Pick at least one metric column.")
            st.stop()
        analysis = unit_file_analysis(
            frame, variant_col, metrics, with_options(options, control=control),
            covariate=None if covariate == "none" else covariate,
            segment_column=None if segment_col == "none" else segment_col, name=upload.name)
    else:
        kind = ui.synced_choice("Metric type", ["binary", "continuous"], key="experiments_kind", widget=st.radio,
                                horizontal=True, format_func={"binary": "Rate (units and conversions)",
                                                              "continuous": "Mean (sum and sum of squares)"}.get)
        template = pd.DataFrame({"variant": ["control", "treatment"], "units": [10_000, 10_000],
                                 "conversions": [1_000, 1_100], "sum": [None, None], "sum_squares": [None, None]})
        typed = st.data_editor(template.drop(columns=["sum", "sum_squares"] if kind == "binary" else ["conversions"]),
                               num_rows="dynamic", key=f"experiments_summary_{kind}", width="stretch")
        analysis = summary_analysis(typed, kind, options, label="conversion rate" if kind == "binary" else "mean")
except ExperimentInputError as exc:
    st.error(ui.plain(exc))
    st.stop()

# ------------------------------------------------------------------ health checks first
if analysis.srm.failed:
    st.error(ui.plain(analysis.srm_message), icon=":material/gpp_bad:")
elif analysis.srm.is_borderline:
    st.warning(ui.plain(analysis.srm_message), icon=":material/warning:")
else:
    st.success(ui.plain(analysis.srm_message), icon=":material/verified:")
with st.expander("Units per arm (sample-ratio check)", expanded=analysis.srm.failed):
    ui.table(srm_table(analysis), width="content", column_config={
        "Share": st.column_config.NumberColumn(format="percent"),
        "Intended share": st.column_config.NumberColumn(format="percent")})
for note in analysis.notes:
    st.caption(ui.plain(note))
if any(r.status == "early" for r in analysis.results):
    st.warning(f"Read before its planned size ({options.planned_n_per_arm:,} units per arm): a fixed-size test "
               "looked at early produces false positives. Wait, or switch on the always-valid view.",
               icon=":material/hourglass_top:")

# ------------------------------------------------------------------ verdicts and lifts
st.subheader("Verdicts")
for result in analysis.results:
    st.markdown(f"{ui.VERDICT_BADGES[result.status]} {ui.plain(result.verdict)}")

ui.chart(forest_plot(analysis.results), n=(units := f"n = {sum(analysis.srm.observed):,} units"), key="exp-forest")
ui.table(results_table(analysis.results))
ui.download_csv(pd.DataFrame(result_records(analysis)), "experiment_results.csv", key="experiments_download")
st.caption(RESULTS_METHOD_NOTE)
ui.revenue_relation_caption(analysis.results)  # ROI quotes the unadjusted difference of the same arms

if analysis.segment_results:
    with st.expander(f"Segment breakdown ({ui.plain(analysis.segment_by.replace('_', ' '))}), "
                     f"{ui.plain(options.correction)} correction across all segments", expanded=True):
        if analysis.segments_failing_srm:
            st.warning(f"Units per arm are off the intended split (p < 0.001) within: "
                       f"{ui.plain(', '.join(analysis.segments_failing_srm))}. Treat those segments' results with suspicion; "
                       "for lifecycle stage the treatment itself can move customers between stages.",
                       icon=":material/warning:")
        ui.chart(forest_plot(analysis.segment_results, "Relative lift by segment"), n=units, key="exp-segments")
        ui.table(results_table(analysis.segment_results))

# ------------------------------------------------------------------ power calculator
with st.expander("Power calculator: how many units does a test need?"):
    p1, p2, p3, p4 = st.columns(4)
    power_kind = ui.synced_choice("Metric", ["rate", "mean"], key="experiments_power_kind", widget=p1.radio)
    baseline = ui.synced_number("Baseline rate (%)" if power_kind == "rate" else "Baseline mean",
                                key="experiments_power_baseline", default=10.0, min_value=0.01,
                                widget=p2.number_input)
    sd = ui.synced_number("Standard deviation", key="experiments_power_sd", default=40.0, min_value=0.01,
                          widget=p3.number_input, disabled=power_kind == "rate")
    mde = ui.synced_number("Relative lift to detect (%)", key="experiments_power_mde", default=5.0,
                           min_value=0.1, widget=p4.number_input)
    units = ui.synced_number("Units per arm you can get", key="experiments_power_units", default=5_000,
                             min_value=10, step=1_000)
    spread = (baseline / 100 * (1 - baseline / 100)) ** 0.5 if power_kind == "rate" else sd
    mean = baseline / 100 if power_kind == "rate" else baseline
    try:
        n_arm = (abstats.sample_size_for_rate(baseline / 100, mde / 100, float(alpha)) if power_kind == "rate"
                 else abstats.sample_size_for_mean(baseline, sd, mde / 100, float(alpha)))
        left, right = st.columns(2)
        left.metric(f"Units per arm to detect {mde:g} % (80 % power, two-sided)", f"{n_arm:,}",
                    help=f"Total for control + one variant: {2 * n_arm:,}. Normal approximation.")
        right.metric(f"Detectable lift with {int(units):,} units per arm",
                     f"{abstats.minimum_detectable_relative_lift(mean, spread, int(units), float(alpha)):.1%}",
                     help="The smallest relative change this many units find 80 % of the time.")
    except ValueError as exc:
        st.error(ui.plain(exc))

if source == "Loaded experiment":  # files and typed-in numbers are not in the database a notebook opens
    ui.view_exports(ui.view_recipe(
        f"Experiment {query.experiment_id}", LibraryCall.of(experiment_analysis, query, result_name="analysis",
                                                            note="SRM, lifts and verdicts"),
    ), key="experiments_export")
