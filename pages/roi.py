"""ROI: does engagement spending pay? Incremental revenue by the most honest method the data allows."""

import pandas as pd
import streamlit as st

from engagement import metrics, ui
from engagement.leadership.headlines import roi_sentence
from engagement.experiments.catalog import metadata_for
from engagement.notebook.export import LibraryCall
from engagement.charts import roi as charts
from engagement.value.engagement_score import DEFAULT_THRESHOLD, PURCHASES_ONLY_NOTE, EngagementWeights
from engagement.experiments.verdicts import p_phrase
from engagement.value.roi import (
    METHOD_HOLDOUT, METHOD_LABELS, ROI_INTERVAL_NOTE, SRM_ALPHA, RoiInputError, experiments, holdout_banner,
    ProgrammeNeeded, holdout_estimate, programmes, report_as_record, roi_report,
)

ASK = "choose the programme this test belongs to"
filters = ui.current_filters()
st.title("Return on engagement spending")
headline_slot = st.container()  # filled once the settings below are read: the headline comes first on the page
st.caption("Incremental revenue, most honest method first: a randomised holdout when an experiment has a control "
           "group; otherwise engaged vs unengaged customers compared after regression adjustment (observational).")

known = ui.view_data(experiments)
with_control = known[known["has_control"]]
clean = with_control[with_control["srm_p_value"] >= SRM_ALPHA]

c1, c2, c3 = st.columns(3)
with c1:
    margin_pct = ui.synced_number("Gross margin %", key="roi_margin", default=40.0, min_value=1.0, max_value=100.0,
                                  step=1.0, help="Share of incremental revenue kept after cost of goods.")
    method = ui.synced_choice("Method", ["auto", "holdout", "observational"], key="roi_method", default="auto",
                              widget=st.radio, horizontal=True,
                              help="auto: the holdout when an experiment with a clean control arm exists.")
with c2:
    experiment_id, outcome_days, post_days, threshold = None, 30, 90, DEFAULT_THRESHOLD
    if method != "observational" and not with_control.empty:
        ids = list(with_control["experiment_id"])
        experiment_id = ui.synced_choice("Holdout experiment", ids, key="roi_experiment",
                                         default=clean["experiment_id"].iloc[0] if not clean.empty else ids[0],
                                         help="Auto picks the latest experiment whose arms pass the sample-ratio check.")
        outcome_days = ui.synced_number("Revenue counted for (days after assignment)", key="roi_outcome_days",
                                        default=30, min_value=1, max_value=365, step=1)
    else:
        post_days = ui.synced_number("Outcome period: the last N days of the date range", key="roi_post_days",
                                     default=90, min_value=7, max_value=365, step=1)
        threshold = ui.synced_number("Engaged from score (default weights, pre period)", key="roi_threshold",
                                     default=DEFAULT_THRESHOLD, min_value=0.0, step=1.0)
with c3:
    cost_source = ui.synced_choice("Programme cost", ["loaded program_costs", "typed in"], key="roi_cost_source")
    programme, typed_cost = None, None
    if cost_source == "typed in":
        typed_cost = ui.synced_number(ui.plain(metrics.with_currency("Cost for the measured period")), key="roi_cost",
                                      default=10_000.0, min_value=1.0, step=500.0)
    else:
        loaded = list(ui.view_data(programmes))
        default = None
        if experiment_id is not None:  # a holdout: only the programme that paid for this test is charged
            options = loaded if len(loaded) == 1 else [ASK, *loaded]
            meta = ui.view_data(metadata_for, experiment_id)
            default = meta.programme if meta is not None and meta.programme in loaded else None
        else:
            options = ["all programmes", *loaded]
        choice = ui.synced_choice("Programme", options, key="roi_programme", default=default,
                                  help="A holdout's default is the programme its experiment metadata names.")
        programme = None if choice in ("all programmes", ASK) else choice
    st.caption("Charge what the measured treatment cost: a holdout measures only what its own treatment adds.")


def show_holdout(h) -> None:
    """The holdout's arms, difference and checks (shown with or without a cost)."""
    d = h.difference
    st.subheader(f"Holdout: {ui.plain(h.experiment_id)}")
    arms = pd.DataFrame({"arm": ["treatment", "control"], "customers": [d.treated_n, d.control_n],
                         f"revenue per customer, {h.outcome_days} days": [d.treated_mean, d.control_mean]})
    st.caption("A holdout is measured over the experiment's own dates: the sidebar date range does not apply, the "
               "acquisition-channel filter does (lifecycle stage is left out: it is measured after assignment).")
    ui.table(arms, width="content", column_config={
        f"revenue per customer, {h.outcome_days} days": st.column_config.NumberColumn(format=ui.money_format())})
    named = metrics.metric("incremental_revenue_per_customer")
    st.markdown(f"{ui.plain(named.label)}: **{metrics.format_value(named.key, d.difference)}** (95 % Welch CI "
                f"{ui.format_value(d.ci_low, 'money')} to {ui.format_value(d.ci_high, 'money')}), times "
                f"{d.treated_n:,} treated customers. Assigned {h.first_assigned:%d %b %Y} – {h.last_assigned:%d %b %Y}.")
    st.caption(ui.plain(named.relates_to))
    if not h.windows_complete:
        st.warning(f"The data end on {h.data_as_of:%d %b %Y}, before the last {h.outcome_days:,}-day outcome window does: "
                   "late-assigned customers have had less time to buy, which dilutes the difference. Shorten the window.")
    if h.srm_p_value < SRM_ALPHA:
        st.warning(f"Sample-ratio mismatch: {d.treated_n:,} vs {d.control_n:,} is unlikely under an equal split "
                 f"({ui.plain(p_phrase(h.srm_p_value))}). Assignment or logging is broken; do not trust this estimate.")
    else:
        st.caption(f"Sample-ratio check (chi-square, equal split assumed, as on the Experiments page): "
                   f"{ui.plain(p_phrase(h.srm_p_value))}; below {SRM_ALPHA} would flag a broken split.")


try:
    with st.spinner("Estimating incremental revenue…"):
        report = ui.view_data(roi_report, filters, margin_pct / 100, method, experiment_id, outcome_days, post_days,
                              programme, typed_cost, EngagementWeights(), threshold)
except RoiInputError as exc:
    st.info(ui.plain(exc), icon=":material/help:")
    if isinstance(exc, ProgrammeNeeded):  # the estimate stands; only its cost is missing
        holdout = ui.view_data(holdout_estimate, experiment_id, int(outcome_days), filters.channels)
        ui.chart(charts.holdout_difference_chart(holdout), n=f"n = {holdout.difference.treated_n:,} treated, "
                 f"{holdout.difference.control_n:,} control", key="roi-holdout", container=st.columns([1, 2])[0])
        show_holdout(holdout)
    st.stop()

r = report.result
with headline_slot:
    ui.headline([roi_sentence(r, observational=r.method != METHOD_HOLDOUT)])
if r.method == METHOD_HOLDOUT:
    kind, sentence = holdout_banner(r)
    banner = {"success": st.success, "error": st.error, "info": st.info}[kind]
    banner(f"**{METHOD_LABELS[r.method]}**: {ui.plain(report.holdout.experiment_id)}. {sentence}")
else:
    if report.observational is not None and report.observational.purchases_only:
        st.warning(PURCHASES_ONLY_NOTE, icon=":material/warning:")
    st.warning(f"**{METHOD_LABELS[r.method]}.** Engaged customers may differ from others in ways the covariates do not "
               "capture (how much they like the product, say), so the adjusted gap likely still overstates what "
               "engagement spending causes. A holdout would measure it.")

m1, m2, m3, m4 = st.columns(4)
m1.metric("ROI", f"{r.roi:.0%}", border=True, help=ROI_INTERVAL_NOTE)
m1.caption(f"95 % CI {r.roi_ci_low:.0%} to {r.roi_ci_high:.0%}")
m2.metric("Incremental revenue", ui.format_value(r.incremental_revenue, "money"), border=True)
m2.caption(f"95 % CI {ui.format_value(r.incremental_revenue_ci_low, 'money')} to "
           f"{ui.format_value(r.incremental_revenue_ci_high, 'money')} · n = {r.units:,} customers")
m3.metric("Cost", ui.format_value(r.cost, "money"), border=True, help=ui.plain(r.cost_source))
m3.caption(f"{r.period_start:%d %b %Y} – {r.period_end:%d %b %Y} · gross profit "
           f"{ui.format_value(r.incremental_gross_profit, 'money')} at {r.margin:.0%}")
payback = "never" if r.payback_months == float("inf") else f"{r.payback_months:,.1f} months"
m4.metric("Payback", payback, border=True,
          help="Months of incremental gross profit (at this period's monthly rate) needed to cover the period's cost.")
payback_high = "no bound" if r.payback_ci_high == float("inf") else f"{r.payback_ci_high:,.1f}"
m4.caption(f"95 % CI {r.payback_ci_low:,.1f} to {ui.plain(payback_high)} months")
left, right = st.columns([1, 2])
ui.chart(charts.roi_interval_chart(r), n=f"n = {r.units:,} customers", key="roi-interval", container=left)
right.markdown("**How the interval is carried through.** " + ROI_INTERVAL_NOTE + " Payback falls as incremental "
               "revenue rises, so its interval is the mapped one reversed; with a lower bound at or below zero profit "
               "the payback has no upper bound. Costs are taken as known; the treated (or engaged) count as fixed.")

if report.holdout is not None:
    show_holdout(report.holdout)

if report.observational is not None:
    o = report.observational
    st.subheader("Observational: engaged vs unengaged, adjusted")
    st.caption(f"Scored {o.pre_start:%d %b %Y} – {o.cutoff - pd.Timedelta(days=1):%d %b %Y} (engaged: score ≥ "
               f"{o.threshold:g}); revenue measured {o.cutoff:%d %b %Y} – {o.end:%d %b %Y}. Model: post-period revenue "
               "~ engaged + pre-period spend + tenure + acquisition channel (OLS on DuckDB sufficient statistics, "
               "HC1 robust interval).")
    left, right = st.columns([2, 3])
    ui.chart(charts.adjustment_chart(o), n=f"n = {o.naive.treated_n + o.naive.control_n:,} customers",
             key="roi-adjustment", container=left)
    right.markdown(f"Adjustment shrinks the naive gap of **{ui.format_value(o.naive.difference, 'money')}** to "
                f"**{ui.format_value(o.adjusted, 'money')}** per engaged customer: **{o.shrinkage:.0%}** of it was "
                f"explained by prior spend, tenure and channel. n = {o.naive.treated_n:,} engaged, "
                f"{o.naive.control_n:,} unengaged; R² = {o.fit.r_squared:.2f}.")
    with right.expander("Regression coefficients"):
        ui.table(o.fit.table())

record = pd.DataFrame([report_as_record(report)])
ui.download_csv(record, "roi_report.csv")

ui.view_exports(ui.view_recipe(
    "Engagement ROI", LibraryCall.of(roi_report, filters, margin_pct / 100, method, experiment_id, outcome_days,
                                     post_days, programme, typed_cost, EngagementWeights(), threshold,
                                     result_name="report", note="Incremental revenue and ROI"),
    filters=filters), key="roi_export")
