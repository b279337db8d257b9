"""RFM and CLV: who are the best customers, who is slipping away, and what are they worth next."""

from datetime import timedelta

import streamlit as st

from engagement import metrics, ui
from engagement.charts import clv as charts
from engagement.retention.churn import CHURN_RISK_NAMING, TRAINING_SAMPLE_CUSTOMERS, fit_churn_model
from engagement.retention.clv import observation_window
from engagement.retention.clv_default import fit_clv
from engagement.notebook.export import LibraryCall
from engagement.retention.rfm import frequency_band_text, rfm_segments

filters = ui.current_filters()
ui.title_with_fit_status("RFM and CLV")  # says when the default fits are being refreshed

SECTIONS = ["RFM segments", "CLV forecast", "Model check (holdout)", "Churn risk"]
# One section at a time, so that a visit computes only what it shows (the models are the slow part).
section = ui.synced_choice("Section", SECTIONS, "rfm_clv_section", SECTIONS[0], widget=st.segmented_control,
                           label_visibility="collapsed") or SECTIONS[0]

# ------------------------------------------------------------------ RFM
if section == SECTIONS[0]:
    rfm = ui.view_data(rfm_segments, filters)
    st.caption(
        f"Customers who bought between {filters.start:%d %b %Y} and {filters.end:%d %b %Y} "
        f"(n = {rfm.customers:,}), scored 1–5 on recency (days since their last order, measured from the end "
        f"of the window) and revenue by quintile (ties share a score); frequency by fixed order-count bands "
        f"({ui.plain(frequency_band_text())}), so identical customers score alike and every segment can occur."
    )
    if rfm.customers == 0:
        st.warning("No purchases in this window and selection. Widen the date range or clear the filters.")
    else:
        (left, right), n = st.columns([3, 2]), f"n = {rfm.customers:,} customers"
        ui.chart(charts.rfm_segment_chart(rfm), n=n, key="rfm-segments", container=left)
        ui.chart(charts.rfm_grid_chart(rfm), n=n, key="rfm-grid", container=right)
        table = rfm.segments[[
            "label", "definition", "customers", "customer_share", "revenue", "revenue_share",
            "revenue_per_customer", "revenue_per_customer_ci_low", "revenue_per_customer_ci_high",
            "average_recency_days", "average_orders",
        ]]
        ui.table(table, labels={  # the registry's formats: counts with separators, shares to one decimal
            "label": "Segment", "customer_share": "Customers %", "revenue_share": "Revenue %",
            "revenue_per_customer": "Revenue / customer", "revenue_per_customer_ci_low": "95% CI low",
            "revenue_per_customer_ci_high": "95% CI high"}, column_config={
            "average_recency_days": st.column_config.NumberColumn("Avg days since order", format="%.0f"),
            "average_orders": st.column_config.NumberColumn("Avg orders", format="%.2f"),
        })
        ui.download_csv(rfm.segments, "rfm_segments.csv", key="rfm_clv_segments_csv")
    ui.view_exports(ui.view_recipe("RFM segments", LibraryCall.of(
        rfm_segments, filters, result_name="rfm", note="RFM segments", show=("segments", "grid")),
        filters=filters), key="rfm_clv_rfm_export")

# ---------------------------------------------------------------- models
first_day, observation_end = ui.view_data(observation_window)
with st.sidebar:
    st.subheader("CLV model")
    horizon = ui.synced_number("Forecast horizon (days)", "rfm_clv_horizon", 90, min_value=7, max_value=730,
                               step=1, help="Expected purchases, revenue and churn over this many days.")
    holdout_days = ui.synced_number(
        "Holdout period (days)", "rfm_clv_holdout", 182, min_value=7, max_value=730, step=1,
        help="The model is fitted on the history before the last N days and checked against them.")
    unit = ui.synced_choice("Time unit", ["week", "day"], "rfm_clv_unit", "week", widget=st.segmented_control,
                            help="Unit of recency, T and alpha (r, a and b do not depend on it).") or "week"

clv, clv_problem = None, None
if first_day is None:
    clv_problem = "There are no purchases to model yet."
elif section in SECTIONS[1:3]:
    calibration_end = max(first_day, observation_end - timedelta(days=int(holdout_days)))
    try:
        with st.spinner("Fitting BG/NBD and Gamma-Gamma (the default settings are fitted when data is loaded; "
                        "others once per data version, under a second at 1M customers)…"):
            clv = ui.view_data(fit_clv, calibration_end, unit, int(horizon), filters.channels,
                               filters.segments)
    except ValueError as problem:
        clv_problem = str(problem)

if section == SECTIONS[1]:
    if clv is None:
        st.warning(ui.plain(clv_problem))
    else:
        st.caption(
            f"BG/NBD (purchases) × Gamma-Gamma (spend), fitted by maximum likelihood on every selected customer's "
            f"full history up to {clv.observation_end:%d %b %Y} (date filters do not apply: the models need the "
            f"whole history). Forecast for the next {clv.horizon_days:,} days. {ui.plain(clv.how_fitted)}"
        )
        cols = st.columns(4)
        cols[0].metric("Customers modelled", f"{clv.customers:,}", border=True)
        cols[1].metric("Average P(alive)",
                       metrics.format_value("average_probability_alive", clv.average_probability_alive), border=True,
                       help="Probability that a customer has not silently churned, given their purchase history.")
        cols[2].metric(f"Expected purchases, {clv.horizon_days:,} d", f"{clv.expected_purchases:,.0f}", border=True,
                       help="Sum over customers of E[purchase days in the horizon | history] (FHL 2005, eq. 10).")
        cols[3].metric(f"Predicted revenue, {clv.horizon_days:,} d", metrics.money(clv.predicted_revenue, 0), border=True,
                       help="Expected purchases × Gamma-Gamma expected purchase value, per customer, summed.")
        ui.chart(charts.forecast_bands_chart(clv), n=f"n = {clv.customers:,} customers", key="clv-bands")
        st.caption(ui.plain(metrics.metric("average_probability_alive").relates_to))
        fit, spend = clv.forward_bgnbd, clv.forward_gamma_gamma
        st.markdown("**Fitted parameters (± standard error)**")
        ui.table(clv.parameters, width="content")
        st.caption(
            f"BG/NBD: n = {fit.n_customers:,} customers, log-likelihood {fit.log_likelihood:,.1f}, time in "
            f"{ui.plain(fit.unit)}s; {ui.plain(fit.fit_status)}. Gamma-Gamma: n = {spend.n_customers if spend else 0:,} repeat customers. It assumes "
            f"spend is independent of frequency: correlation here {clv.frequency_value_correlation:+.2f}."
        )
        st.markdown(f"**Top {len(clv.top_customers)} customers by predicted revenue**")
        number = st.column_config.NumberColumn
        ui.table(clv.top_customers, labels={"probability_alive": "P(alive)"}, column_config={
            "frequency": number("Repeat purchases"), "recency": number(f"Recency ({unit}s)", format="%.1f"),
            "T": number(f"Age ({unit}s)", format="%.1f"), "monetary_value": number("Avg repeat value", format=ui.money_format()),
            "expected_purchases": number("Expected purchases", format="%.2f"),
            "expected_purchase_value": number("Expected value / purchase", format=ui.money_format()),
            "predicted_revenue": number(f"Predicted revenue ({clv.horizon_days} d)", format=ui.money_format()),
        })
        ui.download_csv(clv.top_customers, "clv_top_customers.csv", key="rfm_clv_top_csv")

if section == SECTIONS[2]:
    if clv is None:
        st.warning(ui.plain(clv_problem))
    else:
        check = clv.holdout
        st.caption(
            f"Fitted on purchases up to {clv.calibration_end:%d %b %Y}, then asked to predict each customer's "
            f"repeat purchases in the following {check.holdout_days:,} days, which it did not see. Lines close "
            "together (actual inside its 95 % interval) mean the forecast can be trusted for planning."
        )
        cols = st.columns(3)
        cols[0].metric("Predicted holdout purchases", f"{check.predicted_total:,.0f}", border=True)
        cols[1].metric("Actual holdout purchases", f"{check.actual_total:,.0f}", border=True)
        cols[2].metric("Forecast error", f"{check.relative_error:+.1%}", border=True,
                       help="(predicted − actual) / actual, over all customers of the calibration period.")
        ui.chart(charts.holdout_chart(check), n=f"n = {check.customers:,} customers", key="clv-holdout")
        st.caption(
            f"Calibration fit: r = {clv.bgnbd.r:.3f}, alpha = {clv.bgnbd.alpha:.3f}, a = {clv.bgnbd.a:.3f}, "
            f"b = {clv.bgnbd.b:.3g}; n = {clv.bgnbd.n_customers:,}; log-likelihood {clv.bgnbd.log_likelihood:,.1f}; "
            f"{ui.plain(clv.bgnbd.fit_status)}."
        )
        ui.table(check.bins[["frequency_label", "customers", "predicted_mean", "actual_mean", "actual_ci_low",
                                 "actual_ci_high"]], width="content",
                 labels={"frequency_label": "Calibration repeat purchases"}, column_config={
            **{c: st.column_config.NumberColumn(ui.plain(c.replace("_", " ").capitalize()), format="%.2f")
               for c in ("predicted_mean", "actual_mean", "actual_ci_low", "actual_ci_high")}})

if section in SECTIONS[1:3] and clv is not None:
    ui.view_exports(ui.view_recipe("CLV forecast", LibraryCall.of(
        fit_clv, calibration_end, unit, int(horizon), filters.channels, filters.segments, result_name="clv",
        note="BG/NBD and Gamma-Gamma fits, holdout check and forecast",
        show=("summary", "parameters", "forecast_bands", "top_customers", "holdout.bins", "calibration_parameters")),
        description="Date filters do not apply (the models need each customer's whole history); the channel and "
                    "segment filters do."), key="rfm_clv_clv_export")

if section == SECTIONS[3]:
    try:
        with st.spinner("Training the churn model (the default horizon is fitted when data is loaded; other "
                        "settings once per data version, about 1 s at 1M customers)…"):
            churn = ui.view_data(fit_churn_model, int(horizon), filters.channels, filters.segments)
    except ValueError as problem:
        st.warning(ui.plain(problem))
    else:
        st.caption(
            f"Gradient-boosted trees (scikit-learn) predicting **no purchase in the next {churn.horizon_days:,} days** "
            "from recency, frequency, spend, recent engagement (visits, clicks, messages), loyalty and NPS. Trained "
            f"on a fixed sample of up to {TRAINING_SAMPLE_CUSTOMERS:,} customers as of {churn.cutoff:%d %b %Y} with "
            "what happened next, judged on a random 30 % of them held out; scores everyone as of the data's end."
        )
        cols = st.columns(3)
        cols[0].metric("Holdout AUC", f"{churn.auc:.3f}", border=True,
                       help="Chance that a churner gets a higher score than a non-churner (0.5 = guessing).")
        cols[0].caption(f"95 % CI {churn.auc_ci_low:.3f} to {churn.auc_ci_high:.3f} (Hanley-McNeil) · "
                        f"n = {churn.holdout_customers:,}, {churn.holdout_churned:,} churned")
        cols[1].metric("Brier score", f"{churn.brier_score:.3f}", border=True,
                       help="Mean squared error of the predicted probabilities (lower is better).")
        cols[1].caption(f"Base rate {churn.base_rate:.1%}: always predicting it scores "
                        f"{churn.base_rate * (1 - churn.base_rate):.3f}")
        likely = int(churn.risk_bands.loc[churn.risk_bands["risk_from"] >= 0.5, "customers"].sum())
        cols[2].metric("Likely to churn now (model risk ≥ 50 %)", f"{likely:,}", border=True)
        cols[2].caption(f"of {int(churn.risk_bands['customers'].sum()):,} customers with a purchase")
        st.caption(CHURN_RISK_NAMING)
        (left, right), n = st.columns(2), f"n = {churn.holdout_customers:,} holdout customers"
        ui.chart(charts.churn_calibration_chart(churn), n=n, key="churn-calibration", container=left)
        ui.chart(charts.feature_importance_chart(churn), n=n, key="churn-features", container=right)
        with st.expander("Calibration table (holdout)"):
            ui.table(churn.calibration)
        st.markdown(f"**Highest-value customers likely to churn (top {len(churn.at_risk_customers)})**")
        ui.table(churn.at_risk_customers, labels={"churn_risk": "Churn risk"}, column_config={
            "recency_days": st.column_config.NumberColumn("Days since last order", format="%.0f"),
            "revenue": st.column_config.NumberColumn("Lifetime revenue", format=ui.money_format())})
        ui.download_csv(churn.at_risk_customers, "churn_at_risk_customers.csv", key="rfm_clv_churn_csv")
        ui.view_exports(ui.view_recipe("Churn risk", LibraryCall.of(
            fit_churn_model, int(horizon), filters.channels, filters.segments, result_name="churn",
            note="Churn model: holdout quality and current risk",
            show=("calibration", "feature_importance", "risk_bands", "at_risk_customers"))), key="rfm_clv_churn_export")
