"""Return on engagement spending: incremental revenue, the most honest way the data allows, against cost.

Incremental revenue comes from one of two methods, in order of honesty:

1. **Holdout** (randomised): an experiment in ``experiment_assignments`` with a control arm. The
   incremental revenue per treated customer is the difference in mean net revenue over the
   ``outcome_days`` after assignment, treatment minus control, with a Welch t interval; times the
   number of treated customers.
2. **Observational, regression-adjusted**: customers are scored on the pre period (the filter window
   minus its last ``post_days`` days); revenue in the post period is regressed (OLS) on
   ``engaged + pre_spend + tenure_years + C(acquisition_channel)``. The engaged coefficient, with an
   HC1 (heteroskedasticity-robust) interval, times the number of engaged customers. The naive
   difference of means is shown beside it, to see how much adjustment removes. It is not causal:
   anything that drives both engagement and spending and is not a covariate still biases it.

The regression never sees customer rows in Python: DuckDB returns per-channel sums of cross
products, from which X'X, X'y and y'y are assembled (and, in a second pass with the coefficients
bound, the HC1 "meat" X' diag(e^2) X).

ROI = (margin * incremental revenue - cost) / cost. It is linear and increasing in incremental
revenue (cost and margin are taken as known), so its interval is the incremental revenue interval
mapped through the same formula. Payback (months of incremental gross profit needed to cover the
period's cost) is decreasing in incremental revenue, so its interval is the mapped interval reversed;
when the lower revenue bound is not positive the payback has no upper bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd

from engagement.stats import abstats
from engagement.value.engagement_score import (
    DEFAULT_THRESHOLD, PURCHASES_ONLY_NOTE, EngagementWeights, materialise_scores,
)
from engagement.experiments.analysis import control_arm, list_experiments
from engagement.experiments.catalog import metadata_for, sample_ratio
from engagement.filters import Filters
from engagement.stats.intervals import normal_quantile, welch_interval
from engagement.stats.ols import OlsFit, ols_from_moments
from engagement.warehouse.query_records import QueryRecord
from engagement.sql import read_sql
from engagement.warehouse.store import Store

METHOD_HOLDOUT = "holdout"
METHOD_OBSERVATIONAL = "observational"
METHOD_LABELS = {
    METHOD_HOLDOUT: "Holdout (randomised control group)",
    METHOD_OBSERVATIONAL: "Observational: regression-adjusted engaged vs unengaged (not causal)",
}
ROI_INTERVAL_NOTE = (
    "ROI = (margin x incremental revenue - cost) / cost is linear in incremental revenue (cost and margin "
    "taken as known), so its 95 % interval is the incremental-revenue interval put through the same formula."
)
DAYS_PER_MONTH = 365.25 / 12
REGRESSORS = ("engaged", "pre_spend", "tenure_years")
OUTCOME = "post_revenue"
MIN_PRE_PERIOD_DAYS = 30


class RoiInputError(ValueError):
    """Inputs that cannot give an estimate (explained in plain words)."""


class ProgrammeNeeded(RoiInputError):
    """A holdout's cost: which programme paid for the test is not known, so the user is asked."""


@dataclass(frozen=True)
class MeanDifference:
    """Difference in mean outcome per customer, treated (or engaged) minus control, with a Welch interval."""

    treated_n: int
    treated_mean: float
    control_n: int
    control_mean: float
    difference: float
    se: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class ObservationalEstimate:
    """Regression-adjusted effect of being engaged on post-period revenue (observational)."""

    pre_start: date
    cutoff: date  # first day of the post period
    end: date  # last day of the post period (inclusive)
    threshold: float
    naive: MeanDifference
    adjusted: float
    adjusted_se: float
    adjusted_ci_low: float
    adjusted_ci_high: float
    fit: OlsFit
    # Every pre-period score point came from purchases (engagement_score.EngagementView.purchases_only): "engaged"
    # is "bought most often before", not a programme's effect.
    purchases_only: bool = False

    @property
    def shrinkage(self) -> float:
        """Share of the naive difference that adjustment removes (0.6 = the gap shrinks by 60 %)."""
        return 1 - self.adjusted / self.naive.difference if self.naive.difference else math.nan


@dataclass(frozen=True)
class HoldoutEstimate:
    """Treatment minus control from a randomised experiment."""

    experiment_id: str
    outcome_days: int
    first_assigned: date
    last_assigned: date
    difference: MeanDifference
    srm_p_value: float  # equal intended split assumed
    data_as_of: date

    @property
    def windows_complete(self) -> bool:
        """False when the data ends before the last assigned customer's outcome window does."""
        return self.last_assigned + timedelta(days=self.outcome_days) <= self.data_as_of


@dataclass(frozen=True)
class RoiResult:
    """Incremental revenue, cost and return for one method, with intervals carried through."""

    method: str
    period_start: date
    period_end: date  # inclusive
    incremental_revenue: float
    incremental_revenue_ci_low: float
    incremental_revenue_ci_high: float
    units: int  # treated (holdout) or engaged (observational) customers the per-customer effect applies to
    margin: float
    cost: float
    cost_source: str
    roi: float
    roi_ci_low: float
    roi_ci_high: float
    payback_months: float
    payback_ci_low: float
    payback_ci_high: float

    @property
    def incremental_gross_profit(self) -> float:
        return self.margin * self.incremental_revenue


@dataclass(frozen=True)
class RoiReport:
    result: RoiResult
    holdout: HoldoutEstimate | None
    observational: ObservationalEstimate | None

    @property
    def method_label(self) -> str:
        return METHOD_LABELS[self.result.method]


# ----------------------------------------------------------------- arithmetic
def roi_from_incremental(incremental_revenue: float, ci: tuple[float, float], cost: float, margin: float,
                         months: float) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """ROI and payback (months) with intervals, from incremental revenue and its interval.

    Returns ``((roi, low, high), (payback, low, high))``. Payback is ``inf`` when the incremental
    gross profit is not positive.

    >>> roi_from_incremental(10_000, (5_000, 15_000), cost=2_000, margin=0.4, months=3)[0]
    (1.0, 0.0, 2.0)
    """
    if cost <= 0:
        raise RoiInputError("The programme cost must be positive to compute a return on it.")
    if not 0 < margin <= 1:
        raise RoiInputError("The gross margin must be between 0 and 100 %.")

    def roi(revenue: float) -> float:
        return (margin * revenue - cost) / cost

    def payback(revenue: float) -> float:
        monthly_profit = margin * revenue / months
        return cost / monthly_profit if monthly_profit > 0 else math.inf

    low, high = ci
    return (roi(incremental_revenue), roi(low), roi(high)), (payback(incremental_revenue), payback(high), payback(low))


def _mean_difference(n_t: int, sum_t: float, sq_t: float, n_c: int, sum_c: float, sq_c: float) -> MeanDifference:
    def mean_var(n: int, total: float, squares: float) -> tuple[float, float]:
        mean = total / n if n else math.nan
        return mean, (squares - total * total / n) / (n - 1) if n > 1 else math.nan

    mean_t, var_t = mean_var(n_t, sum_t, sq_t)
    mean_c, var_c = mean_var(n_c, sum_c, sq_c)
    difference, se, low, high = welch_interval(mean_t, var_t, n_t, mean_c, var_c, n_c)
    return MeanDifference(n_t, mean_t, n_c, mean_c, difference, se, low, high)


def observational_periods(filters: Filters, post_days: int) -> tuple[Filters, date]:
    """Pre-period filters (scores and covariates) and the cutoff date starting the post period."""
    cutoff = filters.end - timedelta(days=post_days - 1)
    if post_days < 1 or (cutoff - filters.start).days < MIN_PRE_PERIOD_DAYS:
        raise RoiInputError(
            f"The period {filters.start} – {filters.end} is too short for a {post_days}-day outcome period "
            f"after at least {MIN_PRE_PERIOD_DAYS} days of scoring. Widen the date range or shorten the outcome period."
        )
    pre = Filters(filters.start, cutoff - timedelta(days=1), filters.channels, filters.segments)
    return pre, cutoff


def materialise_outcomes(store: Store, filters: Filters, post_days: int, weights: EngagementWeights,
                         threshold: float, cursor=None):
    """Temporary tables ``customer_scores`` (pre period) and ``customer_outcomes`` on a cursor."""
    cur, pre, cutoff, _ = _materialise_outcomes(store, filters, post_days, weights, threshold, cursor)
    return cur, pre, cutoff


def _materialise_outcomes(store: Store, filters: Filters, post_days: int, weights: EngagementWeights,
                          threshold: float, cursor=None):
    """As :func:`materialise_outcomes`, also returning the run that gives ``customer_outcomes`` (for "Show SQL":
    chained after the scoring, it runs on its own)."""
    pre, cutoff = observational_periods(filters, post_days)
    cur, scores = materialise_scores(store, pre, weights, threshold, cursor)
    outcomes = QueryRecord(
        "roi/customer_outcomes",
        {"cutoff": datetime.combine(cutoff, time.min), "post_end_exclusive": filters.params()["end_exclusive"]},
        (("customer_scores", scores),),
    )
    store.remember_query(outcomes)
    cur.execute("CREATE OR REPLACE TEMP TABLE customer_outcomes AS " + read_sql(outcomes.name),
                outcomes.params).fetchall()
    return cur, pre, cutoff, outcomes


def observational_estimate(store: Store, filters: Filters, post_days: int = 90,
                           weights: EngagementWeights = EngagementWeights(),
                           threshold: float = DEFAULT_THRESHOLD) -> ObservationalEstimate:
    """Engaged vs unengaged revenue in the last ``post_days`` of the window, naive and OLS-adjusted.

    Engagement, pre-period spend and tenure are measured before the post period starts; the model is
    ``post_revenue ~ engaged + pre_spend + tenure_years + C(acquisition_channel)``.
    """
    cur, pre, cutoff, outcomes = _materialise_outcomes(store, filters, post_days, weights, threshold)
    try:
        reads = (("customer_outcomes", outcomes),)
        moments = store.query_materialised("roi/ols_moments", {}, cur, reads)
        if moments.empty or int(moments["n"].sum()) < 10:
            raise RoiInputError("Too few customers in this selection for a regression (fewer than 10).")
        n_engaged = int(moments["s_engaged"].sum())
        n_total = int(moments["n"].sum())
        if n_engaged < 2 or n_total - n_engaged < 2:
            raise RoiInputError("Everyone (or no one) is engaged at this threshold; nothing to compare.")
        try:
            beta, _ = ols_from_moments(moments, REGRESSORS, OUTCOME, "acquisition_channel")
        except np.linalg.LinAlgError as exc:
            raise RoiInputError("The covariates are collinear in this selection (e.g. one channel only "
                                "with no variation); the adjusted comparison cannot be computed.") from exc
        intercepts = [beta[0]] + [beta[0] + b for b in beta[1 + len(REGRESSORS):]]
        scored = (("customer_scores", outcomes.inputs[0][1]),)
        purchases_only = bool(store.query_materialised("roi/purchases_only", {"w_orders": float(weights.orders)},
                                                       cur, scored)["purchases_only"].iloc[0])
        meat = store.query_materialised("roi/ols_residual_moments", {
            "channel_names": list(moments["acquisition_channel"]), "channel_intercepts": [float(b) for b in intercepts],
            **{f"b_{name}": float(beta[1 + i]) for i, name in enumerate(REGRESSORS)},
        }, cur, reads)
    finally:
        cur.execute("DROP TABLE IF EXISTS customer_outcomes").fetchall()
        cur.execute("DROP TABLE IF EXISTS customer_scores").fetchall()
    _, fit = ols_from_moments(moments, REGRESSORS, OUTCOME, "acquisition_channel", meat=meat)
    sum_e = float(moments["s_engaged__post_revenue"].sum())
    sq_e = float(moments["s_engaged__post_revenue__post_revenue"].sum())
    naive = _mean_difference(
        n_engaged, sum_e, sq_e,
        n_total - n_engaged, float(moments["s_post_revenue"].sum()) - sum_e,
        float(moments["s_post_revenue__post_revenue"].sum()) - sq_e,
    )
    z = normal_quantile(0.975)
    b, se = fit.coefficient("engaged"), fit.se("engaged")
    return ObservationalEstimate(pre.start, cutoff, filters.end, float(threshold), naive, b, se,
                                 b - z * se, b + z * se, fit, purchases_only)


SRM_ALPHA = abstats.SRM_THRESHOLD  # a sample-ratio test below this flags a broken assignment


def experiments(store: Store) -> pd.DataFrame:
    """Experiments in the assignments, newest first, with ``has_control`` for usable holdouts and
    ``srm_p_value``: the Experiments page's sample-ratio check (chi-square over every arm against the intended
    split, :func:`engagement.experiments.catalog.sample_ratio`), so both pages quote one number."""
    frame = store.query("roi/experiments")
    arms = list_experiments(store)
    units = {(e, v): int(n) for e, v, n in zip(arms["experiment_id"], arms["variant"], arms["units"])}
    frame["control_variant"] = [control_arm(list(v)) for v in frame["variants"]]
    frame["control_customers"] = [units.get((e, c), 0)
                                  for e, c in zip(frame["experiment_id"], frame["control_variant"])]
    frame["has_control"] = (frame["control_customers"] > 0) & (frame["control_customers"] < frame["customers"])
    frame["srm_p_value"] = [sample_ratio(store, e, arms=arms).p_value if n else math.nan
                            for e, n in zip(frame["experiment_id"], frame["customers"])]
    return frame


def holdout_estimate(store: Store, experiment_id: str, outcome_days: int = 30,
                     channels: tuple[str, ...] = ()) -> HoldoutEstimate:
    """Treatment minus control mean net revenue in the ``outcome_days`` after assignment (Welch)."""
    known = experiments(store)
    row = known[known["experiment_id"] == experiment_id]
    if row.empty:
        raise RoiInputError(f"There is no experiment {experiment_id!r} in the loaded assignments.")
    if not bool(row["has_control"].iloc[0]):
        raise RoiInputError(f"Experiment {experiment_id!r} has no control (or holdout) arm to compare with.")
    arms = store.query("roi/holdout_outcomes", {
        "experiment_id": experiment_id, "outcome_days": int(outcome_days), "channels": list(channels),
        "control_variant": str(row["control_variant"].iloc[0]),
    }).set_index("arm")
    if set(arms.index) != {"control", "treatment"}:
        raise RoiInputError(f"Experiment {experiment_id!r} has no customers in one arm for this selection.")
    t, c = arms.loc["treatment"], arms.loc["control"]
    difference = _mean_difference(int(t["customers"]), float(t["revenue"]), float(t["revenue_squares"]),
                                  int(c["customers"]), float(c["revenue"]), float(c["revenue_squares"]))
    # The Experiments page's check (every arm against the intended split), so both pages quote one p-value.
    srm = sample_ratio(store, experiment_id).p_value
    return HoldoutEstimate(
        experiment_id, int(outcome_days), pd.Timestamp(row["first_assigned_at"].iloc[0]).date(),
        pd.Timestamp(row["last_assigned_at"].iloc[0]).date(), difference, float(srm),
        pd.Timestamp(row["data_as_of"].iloc[0]).date(),
    )


def programmes(store: Store) -> tuple[str, ...]:
    """Programme names in program_costs."""
    frame = store.query("roi/programme_costs", {"start": datetime(1900, 1, 1), "end_exclusive": datetime(2200, 1, 1)})
    return tuple(frame["program"])


def programme_cost(store: Store, start: date, end: date, programme: str | None = None) -> float:
    """Cost of one programme (or all when ``None``) prorated to the days ``start``..``end`` (inclusive)."""
    frame = store.query("roi/programme_costs", {
        "start": datetime.combine(start, time.min), "end_exclusive": datetime.combine(end + timedelta(days=1), time.min),
    })
    if programme is not None:
        frame = frame[frame["program"] == programme]
    return float(frame["cost"].sum())


# -------------------------------------------------------------------- report
def roi_report(store: Store, filters: Filters, margin: float = 0.4, method: str = "auto",
               experiment_id: str | None = None, outcome_days: int = 30, post_days: int = 90,
               programme: str | None = None, typed_cost: float | None = None,
               weights: EngagementWeights = EngagementWeights(),
               threshold: float = DEFAULT_THRESHOLD) -> RoiReport:
    """ROI of engagement spending by the most honest method available (or the one asked for).

    Parameters
    ----------
    margin : float
        Gross margin as a fraction (0.4 = 40 %).
    method : {"auto", "holdout", "observational"}
        ``auto`` takes the holdout when an experiment with a control arm exists.
    experiment_id : str, optional
        The holdout experiment (default: the most recent one with a control arm and no sample-ratio
        mismatch, p >= 0.001 against an equal split).
    programme, typed_cost :
        The cost is ``typed_cost`` when given, else the loaded ``program_costs`` of ``programme``
        prorated to the days the incremental revenue covers. ``None`` means all programmes for the
        observational method; a holdout needs the programme named (or typed cost) unless only one is loaded.
    """
    if method not in ("auto", METHOD_HOLDOUT, METHOD_OBSERVATIONAL):
        raise RoiInputError(f"Unknown method {method!r}; use auto, holdout or observational.")
    holdout = observational = None
    if method in ("auto", METHOD_HOLDOUT):
        usable = experiments(store)
        usable = usable[usable["has_control"] & (usable["srm_p_value"] >= SRM_ALPHA)]
        if experiment_id is None and not usable.empty:
            experiment_id = str(usable["experiment_id"].iloc[0])
        if experiment_id is not None:
            holdout = holdout_estimate(store, experiment_id, outcome_days, filters.channels)
        elif method == METHOD_HOLDOUT:
            raise RoiInputError("No experiment with a control arm is loaded; use the observational method.")
    if holdout is not None:
        effect = holdout.difference
        units = effect.treated_n
        start, end = holdout.first_assigned, holdout.last_assigned + timedelta(days=outcome_days - 1)
        per_customer = (effect.difference, effect.ci_low, effect.ci_high)
        chosen = METHOD_HOLDOUT
    else:
        observational = observational_estimate(store, filters, post_days, weights, threshold)
        units = observational.naive.treated_n
        start, end = observational.cutoff, observational.end
        per_customer = (observational.adjusted, observational.adjusted_ci_low, observational.adjusted_ci_high)
        chosen = METHOD_OBSERVATIONAL
    if chosen == METHOD_HOLDOUT and programme is None and typed_cost is None:
        # The experiment's metadata names the programme that paid for it (the `experiments` export kind).
        meta = metadata_for(store, holdout.experiment_id)
        programme = meta.programme if meta is not None and meta.programme else None
    if typed_cost is not None:
        cost, source = float(typed_cost), "typed in"
    elif chosen == METHOD_HOLDOUT and programme is None and len(loaded := programmes(store)) != 1:
        # A holdout measures what its own treatment adds; charging every programme's cost to it (e-mail,
        # SMS, loyalty, ...) made one subject-line test look like ROI -90 %. Without metadata naming the
        # experiment's programme, ask.
        raise ProgrammeNeeded(
            f"A holdout measures only what its own treatment adds, so charge only the programme that paid for "
            f"{holdout.experiment_id}: choose it (loaded: {', '.join(loaded) or 'none'}; CLI: --programme NAME) "
            "or type the treatment's cost (CLI: --cost).")
    else:
        if chosen == METHOD_HOLDOUT and programme is None:
            programme = programmes(store)[0]  # the only programme loaded: unambiguous
        cost = programme_cost(store, start, end, programme)
        source = f"program_costs: {programme or 'all programmes'}, {start:%d %b %Y} – {end:%d %b %Y}, prorated by day"
        if cost <= 0:
            raise RoiInputError(f"No programme cost is loaded for {programme or 'any programme'} between "
                                f"{start:%d %b %Y} and {end:%d %b %Y} (the outcome period); type a cost in instead.")
    revenue, low, high = (units * value for value in per_customer)
    months = ((end - start).days + 1) / DAYS_PER_MONTH
    (roi, roi_low, roi_high), (payback, payback_low, payback_high) = roi_from_incremental(
        revenue, (low, high), cost, margin, months)
    result = RoiResult(chosen, start, end, revenue, low, high, units, float(margin), cost, source,
                       roi, roi_low, roi_high, payback, payback_low, payback_high)
    return RoiReport(result, holdout, observational)


def holdout_banner(result: RoiResult) -> tuple[str, str]:
    """(kind, sentence) for the holdout's headline: "caused" only when the incremental-revenue interval
    excludes zero; kind is "success" (a measured gain), "error" (a measured loss) or "info" (no clear effect)."""
    low, high = result.incremental_revenue_ci_low, result.incremental_revenue_ci_high
    if low > 0:
        return "success", ("Customers were assigned at random, so the revenue gain between the arms is caused by "
                           "the treatment (within its interval, which excludes zero).")
    if high < 0:
        return "error", ("Customers were assigned at random, so the revenue loss between the arms is caused by the "
                         "treatment (within its interval, which excludes zero).")
    return "info", ("Customers were assigned at random, but the incremental-revenue interval includes zero: the data "
                    "do not show that the treatment changed revenue, so the ROI below may be pure noise.")


def report_as_record(report: RoiReport) -> dict:
    """A flat JSON-ready record of the report (snake_case keys)."""
    r = report.result
    record = {
        "method": r.method, "method_label": report.method_label, "is_observational": r.method == METHOD_OBSERVATIONAL,
        "roi": r.roi, "roi_ci_low": r.roi_ci_low, "roi_ci_high": r.roi_ci_high, "interval_method": ROI_INTERVAL_NOTE,
        "incremental_revenue": r.incremental_revenue, "incremental_revenue_ci_low": r.incremental_revenue_ci_low,
        "incremental_revenue_ci_high": r.incremental_revenue_ci_high,
        "incremental_gross_profit": r.incremental_gross_profit, "customers_affected": r.units,
        "margin": r.margin, "cost": r.cost, "cost_source": r.cost_source,
        "period_start": r.period_start.isoformat(), "period_end": r.period_end.isoformat(),
        "payback_months": r.payback_months, "payback_months_ci_low": r.payback_ci_low,
        "payback_months_ci_high": r.payback_ci_high,
        # Payback values are null when they do not exist: no positive incremental gross profit (at that bound).
        "payback_reached": math.isfinite(r.payback_months),
    }
    if report.holdout is not None:
        h, d = report.holdout, report.holdout.difference
        record.update({
            "experiment_id": h.experiment_id, "outcome_days": h.outcome_days,
            "treatment_customers": d.treated_n, "control_customers": d.control_n,
            "treatment_mean_revenue": d.treated_mean, "control_mean_revenue": d.control_mean,
            "difference_per_customer": d.difference, "difference_ci_low": d.ci_low, "difference_ci_high": d.ci_high,
            "sample_ratio_p_value": h.srm_p_value, "outcome_windows_complete": h.windows_complete,
        })
    if report.observational is not None:
        o = report.observational
        record.update({
            "pre_period_start": o.pre_start.isoformat(), "post_period_start": o.cutoff.isoformat(),
            "engagement_threshold": o.threshold, "engaged_customers": o.naive.treated_n,
            "unengaged_customers": o.naive.control_n,
            "naive_difference": o.naive.difference, "naive_ci_low": o.naive.ci_low, "naive_ci_high": o.naive.ci_high,
            "adjusted_difference": o.adjusted, "adjusted_ci_low": o.adjusted_ci_low,
            "adjusted_ci_high": o.adjusted_ci_high, "adjusted_se_hc1": o.adjusted_se,
            "shrinkage": o.shrinkage, "r_squared": o.fit.r_squared, "purchases_only": o.purchases_only,
            **({"purchases_only_note": PURCHASES_ONLY_NOTE} if o.purchases_only else {}),
            "model": "post_revenue ~ engaged + pre_spend + tenure_years + C(acquisition_channel), OLS, HC1 SE",
        })
    return {k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in record.items()}
