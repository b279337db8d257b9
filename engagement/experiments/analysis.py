"""Experiments: did the personalised campaign really work, and by how much?

Three ways in, one analysis out:

* loaded assignments (``experiment_assignments``) joined in SQL to the orders and events in a window
  after each assignment, with the revenue in the same window before it as the CUPED covariate
  (``sql/experiments/variant_stats.sql``);
* a per-unit results file (one row per unit: a variant column, metric columns, an optional covariate),
  aggregated in DuckDB (``sql/experiments/unit_stats.sql``; see :mod:`engagement.experiments.inputs`);
* summary numbers typed in (units and conversions, or units, sum and sum of squares, per variant).

Each produces sufficient statistics per segment, variant and metric; :func:`analyze` turns them into
an :class:`ExperimentAnalysis` with :mod:`engagement.stats.abstats`, and :mod:`engagement.experiments.verdicts`
writes the plain-language verdicts.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import pandas as pd

from engagement.stats import abstats
from engagement.experiments.verdicts import metric_verdict, srm_message
from engagement.experiments.options import AnalysisOptions, ExperimentInputError  # noqa: F401 (re-exported)
from engagement.experiments.planted import DEMO_EXPERIMENTS
from engagement.warehouse.store import Store

SEGMENT_BY_OPTIONS = ("none", "lifecycle_stage", "acquisition_channel")
ALL_SEGMENTS = "all"

# How the results table reads (shown under it on the Experiments page).
RESULTS_METHOD_NOTE = (
    "One scale per row (\"Tested on\"): the p-value, the interval the verdict quotes and the verdict are "
    "all about the relative lift (delta method, as GrowthBook tests it) unless the control mean is not "
    "positive, then about the difference. With a multiple-testing correction the quoted intervals are "
    "widened like the p-values (\"CI level\" is the per-comparison level), so a verdict never claims a "
    "change its interval does not show. With CUPED on, Control and Variant value are the adjusted means "
    "the lift is computed from (raw means beside them). P(beats control), the credible interval and "
    "expected loss: Bayesian view with a flat prior (normal approximation). Detectable lift: the "
    "smallest relative change this sample finds 80 % of the time."
)


@dataclass(frozen=True)
class MetricSpec:
    key: str
    label: str
    kind: str  # "binary" or "continuous"
    unit: str  # "share", "money" or "count"
    definition: str


STORE_METRICS: dict[str, MetricSpec] = {
    "conversion": MetricSpec(
        "conversion", "Conversion", "binary", "share",
        "Share of assigned customers with at least one purchase in the window after assignment.",
    ),
    "revenue_per_customer": MetricSpec(
        "revenue_per_customer", "Revenue per customer", "continuous", "money",
        "Net revenue in the window after assignment per assigned customer (zero for non-buyers).",
    ),
    "orders_per_customer": MetricSpec(
        "orders_per_customer", "Orders per customer", "continuous", "count",
        "Purchases in the window after assignment per assigned customer.",
    ),
    "event_rate": MetricSpec(
        "event_rate", "Event rate", "binary", "share",
        "Share of assigned customers with at least one event of the chosen type in the window.",
    ),
}


@dataclass(frozen=True)
class ExperimentQuery:
    """A loaded experiment and how to measure it (hashable, so the app can cache on it)."""

    experiment_id: str
    window_days: int = 30
    segment_by: str = "none"
    event_type: str | None = None
    options: AnalysisOptions = field(default_factory=AnalysisOptions)


@dataclass(frozen=True)
class MetricResult:
    """One variant against control on one metric (in one segment)."""

    metric: str
    label: str
    kind: str
    unit: str
    segment: str
    variant: str
    control: str
    estimate: abstats.LiftEstimate
    p_value: float  # the p-value the verdict uses (sequential when that view is on)
    p_value_adjusted: float
    bayes: abstats.BayesianView
    sequential: abstats.SequentialView | None
    mde_absolute: float
    status: str  # untrustworthy, early, positive, negative, inconclusive, no_data
    verdict: str
    # (absolute low, high, relative low, high) the verdict quotes: sequential when that view is on, and at
    # ``interval_alpha``, the per-comparison level whose interval excludes zero exactly when the adjusted
    # p-value is below alpha (see :func:`quoted_interval_level`).
    interval: tuple[float, float, float, float] = (math.nan,) * 4
    interval_alpha: float = math.nan

    @property
    def scale(self) -> str:
        """Which lift the test, p-value, quoted interval and status are about: "relative" or "absolute"."""
        return self.estimate.scale

    @property
    def mde_relative(self) -> float:
        mean = self.estimate.mean_control
        return self.mde_absolute / abs(mean) if mean else math.nan


@dataclass(frozen=True)
class ExperimentAnalysis:
    name: str
    control: str
    variants: tuple[str, ...]
    srm: abstats.SrmCheck
    options: AnalysisOptions
    results: tuple[MetricResult, ...]
    segment_by: str = "none"
    segment_results: tuple[MetricResult, ...] = ()
    notes: tuple[str, ...] = ()
    segment_srm: tuple[tuple[str, abstats.SrmCheck], ...] = ()

    @property
    def segments_failing_srm(self) -> tuple[str, ...]:
        return tuple(segment for segment, check in self.segment_srm if check.failed)

    @property
    def is_trustworthy(self) -> bool:
        return not self.srm.failed

    @property
    def srm_message(self) -> str:
        return srm_message(self.srm)


# ----------------------------------------------------------------- analysis
def _stats_for(rows: pd.DataFrame) -> abstats.SampleStats:
    def value(column: str) -> float | None:
        v = rows[column].sum(min_count=1) if column in rows else None
        return None if v is None or pd.isna(v) else float(v)

    return abstats.SampleStats(
        n=int(rows["n"].sum()), total=value("total") or 0.0, sum_squares=value("sum_squares") or 0.0,
        covariate_total=value("covariate_total"), covariate_sum_squares=value("covariate_sum_squares"),
        cross_products=value("cross_products"),
    )


def control_arm(variants: Sequence[str]) -> str | None:
    """The first variant (in the order given) named like a control ("control", "holdout", "baseline", "A", "No
    E-Mail", ...), or None. The ROI page's holdout uses it too, so both pages call the same arm the control."""
    for variant in variants:
        name = str(variant).strip().lower()
        if name in ("control", "holdout", "baseline", "a") or "control" in name or name.startswith(("no ", "no_")):
            return variant
    return None


def guess_control(variants: Sequence[str]) -> str | None:
    """The variant that looks like a control (:func:`control_arm`), else the first."""
    return control_arm(variants) or (variants[0] if variants else None)


def _pick_control(variants: Sequence[str], control: str | None) -> str:
    if control is not None:
        if control not in variants:
            raise ExperimentInputError(
                f"There is no variant {control!r}; the variants are: {', '.join(map(str, variants))}."
            )
        return control
    return guess_control(variants)


def _unit_variance(arm: abstats.SampleStats, kind: str) -> float:
    return arm.mean * (1 - arm.mean) if kind == "binary" else arm.variance


def _sequential_critical_value(estimate: abstats.LiftEstimate, sequential: abstats.SequentialView | None):
    """Half-width of the always-valid interval in standard errors (None for the fixed-horizon test)."""
    if sequential is None or not estimate.standard_error > 0:
        return None
    return (sequential.ci_high - estimate.absolute_lift) / estimate.standard_error


def _compare_group(group: pd.DataFrame, specs: Mapping[str, MetricSpec], control: str,
                   options: AnalysisOptions, segment: str) -> list[dict[str, Any]]:
    """Every variant x metric comparison of one segment, before the multiple-testing correction."""
    out = []
    for metric, spec in specs.items():
        rows = group[group["metric"] == metric]
        arms = {v: _stats_for(r) for v, r in rows.groupby("variant", sort=True)}
        if control not in arms:
            continue
        with_covariate = (options.use_cuped and all(a.has_covariate for a in arms.values())
                          and abstats.covariate_varies(list(arms.values())))
        theta = abstats.cuped_slope(list(arms.values())) if with_covariate else None
        grand_x = (sum(a.covariate_total for a in arms.values()) / sum(a.n for a in arms.values())
                   if with_covariate else None)
        for variant, arm in arms.items():
            if variant == control:
                continue
            estimate = abstats.compare_arms(arms[control], arm, spec.kind, alpha=options.alpha,
                                            use_covariate=with_covariate, theta=theta,
                                            grand_covariate_mean=grand_x)
            tuning = 2 * options.planned_n_per_arm if options.planned_n_per_arm else abstats.SEQUENTIAL_TUNING_N
            sequential = abstats.sequential_view(estimate, tuning) if options.sequential else None
            var_c, var_v = _unit_variance(arms[control], spec.kind), _unit_variance(arm, spec.kind)
            if with_covariate and not math.isnan(estimate.variance_reduction):
                # CUPED shrinks the variance the test works with, and so the detectable effect.
                var_c, var_v = var_c * (1 - estimate.variance_reduction), var_v * (1 - estimate.variance_reduction)
            if sequential is not None:
                p_value = sequential.relative_p_value if estimate.scale == "relative" else sequential.p_value
            else:
                p_value = estimate.scale_p_value
            out.append({
                "spec": spec, "segment": segment, "variant": variant, "estimate": estimate,
                "sequential": sequential, "p_value": p_value,
                "mde": abstats.minimum_detectable_effect(
                    var_c, arms[control].n, var_v, arm.n, options.alpha, options.power,
                    critical_value=_sequential_critical_value(estimate, sequential)),
            })
    return out


def quoted_interval_level(alpha: float, p_value: float, p_value_adjusted: float) -> float:
    """The per-comparison level of the interval quoted beside an adjusted p-value.

    ``alpha * p / p_adjusted``: the interval at this level excludes zero exactly when ``p_adjusted < alpha``
    (p < alpha p / p_adj <=> p_adj < alpha), so the status and the interval it quotes never disagree.
    With Bonferroni (p_adj = m p) it is the Bonferroni interval at alpha / m; with Holm it is the step-down
    level of the comparison's rank, alpha / (m - k + 1) (or stricter where the monotone step carries a
    larger p-value forward); with Benjamini-Hochberg it is the step-up level alpha k / m, the
    false-coverage-rate interval of Benjamini & Yekutieli (2005) for the selected comparisons.
    """
    if not (p_value_adjusted > 0) or p_value != p_value:
        return alpha  # no test (nan) or a p-value that underflowed to 0: nothing to widen
    return alpha * min(1.0, p_value / p_value_adjusted)


def _quoted_interval(estimate: abstats.LiftEstimate, sequential: abstats.SequentialView | None,
                     level: float) -> tuple[float, float, float, float]:
    if sequential is None:
        return estimate.interval(level)
    widened = abstats.sequential_view(estimate, sequential.tuning_n, alpha=level)
    return widened.ci_low, widened.ci_high, widened.relative_ci_low, widened.relative_ci_high


def _finish(raw: list[dict[str, Any]], control: str, options: AnalysisOptions, srm_failed: bool) -> list[MetricResult]:
    adjusted = abstats.adjust_pvalues([r["p_value"] for r in raw], options.correction)
    results = []
    for r, p_adjusted in zip(raw, adjusted):
        spec, estimate = r["spec"], r["estimate"]
        level = quoted_interval_level(options.alpha, r["p_value"], p_adjusted)
        interval = _quoted_interval(estimate, r["sequential"], level)
        status, verdict = metric_verdict(
            label=spec.label, unit=spec.unit, variant=r["variant"], control=control, estimate=estimate,
            sequential=r["sequential"], p_value_adjusted=p_adjusted, mde_absolute=r["mde"], options=options,
            srm_failed=srm_failed, interval=interval, interval_alpha=level,
        )
        results.append(MetricResult(
            metric=spec.key, label=spec.label, kind=spec.kind, unit=spec.unit, segment=r["segment"],
            variant=r["variant"], control=control, estimate=estimate, p_value=r["p_value"],
            p_value_adjusted=p_adjusted, bayes=abstats.bayesian_view(estimate), sequential=r["sequential"],
            mde_absolute=r["mde"], status=status, verdict=verdict, interval=interval, interval_alpha=level,
        ))
    return results


COVARIATE_COLUMNS = ("covariate_total", "covariate_sum_squares", "cross_products")
CONSTANT_COVARIATE_NOTE = (
    "CUPED is on but adjusted nothing: the covariate has the same value for every unit of an arm (for a loaded "
    "experiment, no assigned customer bought in the window before assignment), so it explains none of the "
    "variation. Every lift below is the plain comparison.")


def analyze(name: str, stats: pd.DataFrame, specs: Mapping[str, MetricSpec], unit_counts: Mapping[str, int],
            options: AnalysisOptions, segment_by: str = "none", notes: Sequence[str] = ()) -> ExperimentAnalysis:
    """Analyse sufficient statistics (one row per segment, variant and metric).

    Parameters
    ----------
    stats : columns segment, variant, metric, n, total, sum_squares and optionally covariate_total,
        covariate_sum_squares, cross_products.
    specs : the metrics to analyse (key -> :class:`MetricSpec`), in display order.
    unit_counts : units assigned per variant, for the sample-ratio check.
    options : :class:`AnalysisOptions`.
    """
    variants = tuple(sorted(str(v) for v in unit_counts))
    if len(variants) < 2:
        raise ExperimentInputError("An experiment needs at least two variants; found "
                                   f"{len(variants)} ({', '.join(variants) or 'none'}).")
    control = _pick_control(variants, options.control)
    missing = [m for m in specs if m not in set(stats["metric"])]
    if missing:
        raise ExperimentInputError(f"No values for metric(s): {', '.join(missing)}.")
    planned = dict(options.intended_split)
    if planned and set(planned) != set(variants):
        raise ExperimentInputError(
            f"The intended split names {', '.join(sorted(planned))}, but the variants are {', '.join(variants)}. "
            "Name every variant once (e.g. control=50,treatment=50).")
    srm = abstats.sample_ratio_check({v: int(unit_counts[v]) for v in variants}, planned or None)
    overall = _compare_group(stats, specs, control, options, ALL_SEGMENTS)
    results = _finish(overall, control, options, srm.failed)
    segment_results: list[MetricResult] = []
    segment_srm: list[tuple[str, abstats.SrmCheck]] = []
    if segment_by != "none":
        raw = []
        first_metric = next(iter(specs))
        for segment, group in stats.groupby("segment", sort=True):
            raw.extend(_compare_group(group, specs, control, options, str(segment)))
            counts = group[group["metric"] == first_metric].groupby("variant")["n"].sum()
            segment_srm.append((str(segment), abstats.sample_ratio_check(
                {v: int(counts.get(v, 0)) for v in variants}, planned or None)))
        segment_results = _finish(raw, control, options, srm.failed)
    if (options.use_cuped and set(COVARIATE_COLUMNS) <= set(stats.columns)
            and stats[list(COVARIATE_COLUMNS)].notna().all(axis=None)
            and all(math.isnan(r.estimate.adjusted_mean_control) for r in results)):
        notes = [*notes, CONSTANT_COVARIATE_NOTE]
    return ExperimentAnalysis(name, control, variants, srm, options, tuple(results), segment_by,
                              tuple(segment_results), tuple(notes), tuple(segment_srm))


def with_options(options: AnalysisOptions, **changes: Any) -> AnalysisOptions:
    """A copy of ``options`` with some fields changed (the dataclass is frozen)."""
    return dataclasses.replace(options, **changes)


# ----------------------------------------------------------------- loaded experiments
def list_experiments(store: Store, cursor=None) -> pd.DataFrame:
    """One row per experiment and variant: units assigned and the assignment period."""
    return store.query("experiments/experiments", cursor=cursor)


def experiment_ids(store: Store, cursor=None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(list_experiments(store, cursor)["experiment_id"]))


def intended_split(store: Store, experiment_id: str, cursor=None) -> tuple[tuple[str, float], ...]:
    """The demo's planted split for its experiments; otherwise empty (the check assumes an equal split)."""
    spec = DEMO_EXPERIMENTS.get(experiment_id)
    if spec is None or not store.is_demo():
        return ()
    return tuple(sorted(spec.get("intended_split", {}).items()))


def experiment_stats(store: Store, query: ExperimentQuery, cursor=None) -> pd.DataFrame:
    """Sufficient statistics per segment, variant and metric (``experiments/variant_stats.sql``)."""
    if query.segment_by not in SEGMENT_BY_OPTIONS:
        raise ExperimentInputError(f"Segments must be one of {', '.join(SEGMENT_BY_OPTIONS)}.")
    if not 1 <= query.window_days <= 365:
        raise ExperimentInputError("The measurement window must be between 1 and 365 days.")
    return store.query("experiments/variant_stats", {
        "experiment_id": query.experiment_id, "window_days": query.window_days,
        "segment_by": query.segment_by, "event_type": query.event_type,
    }, cursor=cursor)


def experiment_analysis(store: Store, query: ExperimentQuery, cursor=None) -> ExperimentAnalysis:
    """Analyse a loaded experiment: SQL sufficient statistics, then :func:`analyze`."""
    stats = experiment_stats(store, query, cursor)
    if stats.empty:
        raise ExperimentInputError(f"No assignments for experiment {query.experiment_id!r}.")
    specs = {k: s for k, s in STORE_METRICS.items() if k != "event_rate"}
    if query.event_type:
        base = STORE_METRICS["event_rate"]
        specs["event_rate"] = MetricSpec(base.key, f"{query.event_type} rate", base.kind, base.unit,
                                         base.definition)
    units = stats[stats["metric"] == "conversion"].groupby("variant")["n"].sum()
    options = query.options
    if not options.intended_split:
        split = intended_split(store, query.experiment_id, cursor)
        if split:
            options = with_options(options, intended_split=split)
    notes = [f"Metrics are measured in the {query.window_days} days after each customer's assignment; the "
             f"CUPED covariate is their revenue in the {query.window_days} days before it."]
    incomplete = int(stats[stats["metric"] == "conversion"]["units_window_incomplete"].sum())
    if incomplete:
        notes.append(f"{incomplete:,} units were assigned less than {query.window_days} days before the end of "
                     "the data: their window is cut short, which lowers every arm's numbers alike.")
    if query.segment_by == "lifecycle_stage":
        notes.append("Lifecycle stage is today's stage, measured after assignment: a treatment that moves "
                     "customers between stages can bias the segment comparison. Acquisition channel has no such "
                     "problem.")
    return analyze(query.experiment_id, stats, specs, units.to_dict(), options, query.segment_by, notes)


# ----------------------------------------------------------------- records
def result_records(analysis: ExperimentAnalysis, segments: bool = False) -> list[dict[str, Any]]:
    """One plain record per metric, variant (and segment): what the CLI prints and the page downloads."""
    records = []
    for r in (analysis.segment_results if segments else analysis.results):
        e = r.estimate
        low, high, rel_low, rel_high = r.interval
        records.append({
            "experiment": analysis.name, "segment": r.segment, "metric": r.metric, "label": r.label,
            "kind": r.kind, "variant": r.variant, "control": r.control, "test": e.test,
            "n": e.n_variant, "mean": e.mean_variant, "n_control": e.n_control, "mean_control": e.mean_control,
            "mean_adjusted": e.adjusted_mean_variant, "mean_control_adjusted": e.adjusted_mean_control,
            # One scale for the test, p_value, p_value_adjusted, the quoted interval and the status.
            "scale": r.scale,
            "absolute_lift": e.absolute_lift, "ci_low": low, "ci_high": high,
            "relative_lift": e.relative_lift, "relative_ci_low": rel_low, "relative_ci_high": rel_high,
            # The intervals above are at this per-comparison level (1 - interval_alpha), adjusted like the p-value.
            "interval_alpha": r.interval_alpha,
            "p_value": r.p_value, "p_value_adjusted": r.p_value_adjusted,
            "absolute_p_value": (r.sequential.p_value if r.sequential is not None else e.p_value),
            "relative_p_value": (r.sequential.relative_p_value if r.sequential is not None else e.relative_p_value),
            "correction": analysis.options.correction, "is_sequential": r.sequential is not None,
            "cuped_variance_reduction": e.variance_reduction,
            "probability_to_beat_control": r.bayes.probability_to_beat_control,
            "credible_low": r.bayes.credible_low, "credible_high": r.bayes.credible_high,
            "relative_credible_low": r.bayes.relative_credible_low,
            "relative_credible_high": r.bayes.relative_credible_high,
            "expected_loss": r.bayes.expected_loss,
            "expected_loss_variant": r.bayes.expected_loss, "expected_loss_control": r.bayes.expected_loss_control,
            "mde_absolute": r.mde_absolute, "mde_relative": r.mde_relative,
            "srm_p_value": analysis.srm.p_value, "is_trustworthy": analysis.is_trustworthy,
            "status": r.status, "verdict": r.verdict,
        })
    return records


def _not_finite(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def _with_null_reasons(record: dict[str, Any]) -> dict[str, Any]:
    """A metric record plus ``<field>_null_reason`` for each value that is NaN or infinite (printed as null)."""
    relative = "the control mean is 0: a lift relative to it is undefined"
    untested = ("no variation within the arms (or too few units): there is nothing to test"
                if record["status"] == "no_data" else "the test statistic is undefined for these inputs")
    reasons = {"relative_lift": relative, "relative_ci_low": relative, "relative_ci_high": relative,
               "mde_relative": relative, "cuped_variance_reduction": "no CUPED adjustment was made",
               **{k: untested for k in ("ci_low", "ci_high", "p_value", "p_value_adjusted",
                                        "probability_to_beat_control", "expected_loss", "mde_absolute")}}
    if record["mean_control"] != 0:
        reasons.update({k: untested for k in ("relative_lift", "relative_ci_low", "relative_ci_high", "mde_relative")})
    return {**record, **{f"{k}_null_reason": reason for k, reason in reasons.items() if _not_finite(record.get(k))}}


def analysis_summary(analysis: ExperimentAnalysis) -> dict[str, Any]:
    """The whole analysis as one JSON-ready object (SRM first, then per-metric records). A value that is NaN
    or infinite (printed as null) has a sibling ``<field>_null_reason`` saying why."""
    srm = analysis.srm
    srm_reason = ({"chi_square_null_reason": "a variant whose intended share is 0 received units"}
                  if _not_finite(srm.chi_square) else {})
    return {
        "experiment": analysis.name, "control": analysis.control, "variants": list(analysis.variants),
        "srm_p_value": srm.p_value, "srm_failed": srm.failed, "is_trustworthy": analysis.is_trustworthy,
        "srm": {"variants": list(srm.variants), "observed": list(srm.observed),
                "expected_shares": list(srm.expected_shares), "chi_square": srm.chi_square,
                "degrees_of_freedom": srm.degrees_of_freedom, "p_value": srm.p_value, "message": analysis.srm_message,
                **srm_reason},
        "correction": analysis.options.correction, "alpha": analysis.options.alpha,
        "notes": list(analysis.notes),
        "metrics": [_with_null_reasons(r) for r in result_records(analysis)],
        **({"segment_by": analysis.segment_by,
            "segments": [_with_null_reasons(r) for r in result_records(analysis, segments=True)],
            "segment_srm": [{"segment": seg, "observed": list(check.observed), "p_value": check.p_value,
                             "failed": check.failed} for seg, check in analysis.segment_srm]}
           if analysis.segment_results else {}),
    }


def results_table(results: Sequence[MetricResult]) -> pd.DataFrame:
    """A readable table of results (formatted text), one row per metric, variant and segment.

    "Control" and "Variant value" are the means the lift is computed from (CUPED-adjusted when the
    adjustment is on, labelled so, with the raw means beside them), so that a row adds up. "Tested on"
    names the scale of the p-value, the interval and the verdict.
    """
    from engagement.experiments.verdicts import format_amount, format_p, format_relative

    results = list(results)
    any_cuped = any(not math.isnan(r.estimate.adjusted_mean_control) for r in results)
    rows = []
    for r in results:
        e = r.estimate
        low, high, rel_low, rel_high = r.interval
        cuped = not math.isnan(e.adjusted_mean_control)
        mean_c = e.adjusted_mean_control if cuped else e.mean_control
        mean_v = e.adjusted_mean_variant if cuped else e.mean_variant
        row = {
            "Metric": r.label, "Variant": r.variant, "Segment": r.segment,
            "n (variant / control)": f"{e.n_variant:,} / {e.n_control:,}",
            "Means": "CUPED-adjusted" if cuped else "raw",
            "Control": format_amount(mean_c, r.unit), "Variant value": format_amount(mean_v, r.unit),
        }
        if any_cuped:
            row["Control (raw)"] = format_amount(e.mean_control, r.unit)
            row["Variant (raw)"] = format_amount(e.mean_variant, r.unit)
        row.update({
            "Tested on": f"{r.scale} lift",
            "Lift": format_amount(e.absolute_lift, r.unit, signed=True),
            "Lift CI": f"{format_amount(low, r.unit, True)} to {format_amount(high, r.unit, True)}",
            "Lift %": format_relative(e.relative_lift),
            "Lift % CI": f"{format_relative(rel_low)} to {format_relative(rel_high)}",
            "CI level": f"{(1 - r.interval_alpha) * 100:.4g} %" if r.interval_alpha == r.interval_alpha else "–",
            "p": format_p(r.p_value), "Adjusted p": format_p(r.p_value_adjusted),
            "CUPED variance cut": "–" if math.isnan(e.variance_reduction) else f"{e.variance_reduction:.1%}",
            "P(beats control)": "–" if math.isnan(r.bayes.probability_to_beat_control)
            else f"{r.bayes.probability_to_beat_control:.1%}",
            "Credible interval": (f"{format_amount(r.bayes.credible_low, r.unit, True)} to "
                                  f"{format_amount(r.bayes.credible_high, r.unit, True)}"),
            "Expected loss if shipped": format_amount(r.bayes.expected_loss, r.unit),
            "Expected loss if kept": format_amount(r.bayes.expected_loss_control, r.unit),
            "Detectable lift (80 % power)": format_relative(r.mde_relative).lstrip("+"),
            "Verdict": r.status.replace("_", " "),
        })
        rows.append(row)
    frame = pd.DataFrame(rows)
    if not frame.empty and (frame["Segment"] == ALL_SEGMENTS).all():
        frame = frame.drop(columns=["Segment"])
    return frame


def srm_table(analysis: ExperimentAnalysis) -> pd.DataFrame:
    """Units per variant against the intended split."""
    srm = analysis.srm
    total = sum(srm.observed)
    return pd.DataFrame({
        "Variant": srm.variants, "Units": srm.observed,
        "Share": [o / total if total else math.nan for o in srm.observed],
        "Intended share": srm.expected_shares, "Expected units": [round(e) for e in srm.expected],
    })
