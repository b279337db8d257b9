"""Predicted customer lifetime value: BG/NBD purchases x Gamma-Gamma spend, checked on a holdout.

The pipeline, all aggregation in DuckDB:

1. ``summary_data_from_orders`` (``sql/clv/customer_summary.sql``): frequency, recency, T and
   monetary value per customer for a calibration period, plus their purchases in the holdout.
2. ``sql/clv/bgnbd_groups.sql`` / ``gamma_gamma_groups.sql``: identical customers grouped with a
   weight, so that a fit on 1M customers maximises a likelihood over a few thousand rows.
3. Calibration fit (``calibration_end``) -> predicted vs actual repeat purchases in the holdout.
4. Forward fit on the whole history -> probability alive, expected purchases and revenue in the
   next ``horizon_days`` (``engagement/retention/clv_forecast.py``): predicted per group and added up over groups into
   P(alive) bands; DuckDB joins the predictions back to customers for the top customers.

The page's default request (``engagement/retention/clv_default.py``: a 182-day holdout, weeks, 90 days, every
customer) is fitted once when data is loaded and its result stored in derived tables. The page's entry point,
:func:`engagement.retention.clv_default.fit_clv`, sits there, above this pipeline: it returns that result when
asked for exactly those settings, and otherwise reads the parts of it that do not depend on the settings
changed and computes the rest. Another calibration end reads its inputs from the stored summary of the nearest
later calibration end (``sql/clv/earlier_summary.sql``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from engagement.filters import as_date
from engagement.stats.bgnbd import UNIT_DAYS, BgNbdFit, fit_bgnbd
from engagement.retention.clv_forecast import forecast_customers
from engagement.stats.gamma_gamma import GammaGammaFit, fit_gamma_gamma
from engagement.stats.intervals import mean_interval
from engagement.warehouse.query_records import QueryRecord
from engagement.sql import read_sql
from engagement.warehouse.store import Store

HOLDOUT_FREQUENCY_CAP = 7  # the holdout chart bins calibration frequencies 0..6 and "7+"
TOP_CUSTOMERS = 100


@dataclass(frozen=True)
class HoldoutCheck:
    """Predicted vs actual repeat purchases in the holdout, by calibration frequency."""

    bins: pd.DataFrame  # frequency_bin, customers, predicted_mean, actual_mean, actual_ci_low, actual_ci_high
    customers: int
    predicted_total: float
    actual_total: float
    holdout_days: int

    @property
    def relative_error(self) -> float:
        return (self.predicted_total - self.actual_total) / self.actual_total if self.actual_total else math.nan


@dataclass(frozen=True)
class ClvResult:
    """Both fits, the holdout check and the forward forecast. Picklable (cached by the app)."""

    unit: str
    calibration_end: date
    observation_end: date
    horizon_days: int
    bgnbd: BgNbdFit  # fitted on the calibration period
    gamma_gamma: GammaGammaFit | None  # None when fewer than 3 repeat customers
    holdout: HoldoutCheck
    forward_bgnbd: BgNbdFit  # fitted on the whole history, used for the forecast
    forward_gamma_gamma: GammaGammaFit | None
    frequency_value_correlation: float  # Gamma-Gamma assumes ~0 (weighted Pearson over repeat customers)
    forecast_bands: pd.DataFrame  # one row per P(alive) band
    top_customers: pd.DataFrame  # highest predicted revenue in the horizon
    fit_seconds: float  # of the fit that gave this result (when fitted at load, that load's)
    groups: int  # rows the BG/NBD likelihood was evaluated on (distinct x, t_x, T)
    fitted_at_load: bool = False  # read from the result stored when the data was loaded (engagement/retention/clv_default.py)
    read_from_load: tuple[str, ...] = ()  # else the parts read from that result (CALIBRATION_PART, ...), if any

    @property
    def customers(self) -> int:
        return int(self.forecast_bands["customers"].sum())

    @property
    def how_fitted(self) -> str:
        """One sentence for the page: fitted when the data was loaded, partly, or now, and in how long."""
        if self.fitted_at_load:
            return f"Fitted when the data was loaded (in {self.fit_seconds:.1f} s) and read from stored results."
        if self.read_from_load:
            return (f"Fitted in {self.fit_seconds:.1f} s ({' and '.join(self.read_from_load)} read from the fit when "
                    f"the data was loaded).")
        return f"Fitted in {self.fit_seconds:.1f} s."

    @property
    def expected_purchases(self) -> float:
        return float(self.forecast_bands["expected_purchases"].sum())

    @property
    def predicted_revenue(self) -> float:
        return float(self.forecast_bands["predicted_revenue"].sum())

    @property
    def average_probability_alive(self) -> float:
        bands = self.forecast_bands
        return float((bands["average_probability_alive"] * bands["customers"]).sum() / bands["customers"].sum())

    @property
    def parameters(self) -> pd.DataFrame:
        """The forecast's fitted parameters and standard errors: BG/NBD r, alpha, a, b, then Gamma-Gamma p, q, gamma."""
        return fit_parameters(self.forward_bgnbd, self.forward_gamma_gamma)

    @property
    def calibration_parameters(self) -> pd.DataFrame:
        """The same for the fits on the calibration period (the model the holdout check judges)."""
        return fit_parameters(self.bgnbd, self.gamma_gamma)

    @property
    def summary(self) -> pd.DataFrame:
        """The headline figures of the forecast and of the holdout check, one row each (``figure``, ``value``)."""
        days = self.horizon_days
        figures = {
            "Customers modelled": self.customers,
            "Average P(alive)": self.average_probability_alive,
            f"Expected purchases, {days} d": self.expected_purchases,
            f"Predicted revenue, {days} d": self.predicted_revenue,
            "Frequency-value correlation": self.frequency_value_correlation,
            f"Predicted holdout purchases, {self.holdout.holdout_days} d": self.holdout.predicted_total,
            f"Actual holdout purchases, {self.holdout.holdout_days} d": self.holdout.actual_total,
            "Holdout forecast error": self.holdout.relative_error,
        }
        return pd.DataFrame({"figure": list(figures), "value": [float(v) for v in figures.values()]})


def fit_parameters(bgnbd: BgNbdFit, gamma_gamma: GammaGammaFit | None) -> pd.DataFrame:
    """One row per fitted parameter: ``parameter``, ``estimate``, ``standard_error`` (no Gamma-Gamma rows
    when too few repeat customers were there to fit it)."""
    names, estimates, errors = ["r", "alpha", "a", "b"], list(bgnbd.params), list(bgnbd.standard_errors)
    if gamma_gamma is not None:
        names += ["p", "q", "gamma"]
        estimates += list(gamma_gamma.params)
        errors += list(gamma_gamma.standard_errors)
    return pd.DataFrame({"parameter": names, "estimate": np.asarray(estimates, dtype=float),
                         "standard_error": np.asarray(errors, dtype=float)})


def _summary_params(calibration_end: date, observation_end: date, unit: str,
                    channels: tuple[str, ...], segments: tuple[str, ...]) -> dict:
    if unit not in UNIT_DAYS:
        raise ValueError(f"Unknown time unit {unit!r}; use 'day' or 'week'.")
    return {
        "calibration_end": calibration_end, "observation_end": observation_end, "unit_days": UNIT_DAYS[unit],
        "channels": list(channels), "segments": list(segments),
    }


def summary_data_from_orders(store: Store, calibration_end: date, observation_end: date | None = None,
                             unit: str = "week", channels: tuple[str, ...] = (), segments: tuple[str, ...] = (),
                             cursor=None) -> pd.DataFrame:
    """Per-customer model inputs, like lifetimes' ``summary_data_from_transaction_data``.

    Returns one row per customer whose first purchase is on or before ``calibration_end``:
    ``frequency``, ``recency``, ``T`` (in ``unit``), ``monetary_value`` and the holdout columns.
    """
    observation_end = observation_end or calibration_end
    params = _summary_params(calibration_end, observation_end, unit, channels, segments)
    return store.query("clv/customer_summary", params, cursor=cursor)


def observation_window(store: Store, cursor=None) -> tuple[date | None, date | None]:
    """(first purchase day, observation end) of the dataset."""
    row = store.query("clv/observation_window", cursor=cursor).iloc[0]
    return as_date(row["first_purchase_day"]), as_date(row["observation_end"])


def default_calibration_end(first_day: date, observation_end: date) -> date:
    """Hold out the last half of the history, at most 26 weeks (the rest calibrates the model)."""
    holdout = min(182, max(1, (observation_end - first_day).days // 2))
    return observation_end - timedelta(days=holdout)


# Derived tables holding clv/customer_summary.sql for the page's default settings (days as the unit), and
# the query that reads each in the unit asked for.
STORED_SUMMARIES = {"clv_calibration_summary": "clv/stored_calibration_summary",
                    "clv_history_summary": "clv/stored_history_summary"}


def _stored_summary(reader: str, params: dict) -> QueryRecord:
    """The run reading stored summary ``reader`` in ``params``' unit, narrowed to its selection when it has one."""
    stored = QueryRecord(reader, {"unit_days": params["unit_days"]})
    if not params["channels"] and not params["segments"]:
        return stored
    return QueryRecord("clv/selected_summary_rows", {"channels": params["channels"], "segments": params["segments"]},
                       (("summary_rows", stored),))


def _summary_rows(store: Store, params: dict, cursor) -> tuple[Any, QueryRecord]:
    """``clv/customer_summary.sql``'s rows as a DuckDB relation that every grouping and the forecast read,
    and the record of the run that gives them.

    When a derived table stores them for these dates (the page's defaults, every customer), a projection of
    it narrowed to the selection. Else, when one stores them for the same observation end and a later calibration
    end, that one with the purchases in between moved to the holdout (``clv/earlier_summary.sql``, from the
    nearest); otherwise the query runs. Those two are materialised as Arrow tables (reading the purchases is the
    expensive step).
    """
    cur = cursor or store.cursor()
    every_customer_in_days = {**params, "unit_days": 1, "channels": [], "segments": []}
    later = []
    for table, reader in STORED_SUMMARIES.items():
        stored = store.stored_view_params(table, cur)
        if stored == every_customer_in_days:
            summary = _stored_summary(reader, params)
            store.remember_query(summary)
            if summary.name == reader:
                return cur.sql(read_sql(reader), params=summary.params), summary
            return cur.from_arrow(cur.sql(summary.statement(), params=summary.all_params()).to_arrow_table()), summary
        if (stored is not None and {**stored, "calibration_end": params["calibration_end"]} == every_customer_in_days
                and stored["calibration_end"] > params["calibration_end"]):
            later.append((stored["calibration_end"], reader))
    if later:
        later_calibration_end, reader = min(later)
        summary = QueryRecord(
            "clv/earlier_summary",
            {"calibration_end": params["calibration_end"], "later_calibration_end": later_calibration_end,
             "unit_days": params["unit_days"], "channels": params["channels"], "segments": params["segments"]},
            (("later_summary_rows", _stored_summary(reader, params)),))
    else:
        summary = QueryRecord("clv/customer_summary", params)
    store.remember_query(summary)
    return cur.from_arrow(cur.sql(summary.statement(), params=summary.all_params()).to_arrow_table()), summary


def _over_summary(store: Store, rows, summary: QueryRecord, name: str) -> pd.DataFrame:
    """``sql/<name>.sql`` over the summary relation ``rows``, which it reads as ``customer_summary_rows``."""
    store.remember_query(QueryRecord(name, inputs=(("customer_summary_rows", summary),)))
    return rows.query("customer_summary_rows", read_sql(name)).df()


def _grouped(store: Store, params: dict, name: str, cursor) -> pd.DataFrame:
    return _over_summary(store, *_summary_rows(store, params, cursor), name)


def bgnbd_groups(store: Store, calibration_end: date, observation_end: date | None = None, unit: str = "week",
                 channels: tuple[str, ...] = (), segments: tuple[str, ...] = (), cursor=None) -> pd.DataFrame:
    """The BG/NBD's sufficient statistics: one row per distinct (frequency, recency, T) with its
    customer count (the fitting weight) and holdout purchase sums."""
    params = _summary_params(calibration_end, observation_end or calibration_end, unit, channels, segments)
    return _grouped(store, params, "clv/bgnbd_groups", cursor)


def gamma_gamma_groups(store: Store, calibration_end: date, unit: str = "week", channels: tuple[str, ...] = (),
                       segments: tuple[str, ...] = (), cursor=None) -> pd.DataFrame:
    """The Gamma-Gamma inputs: one row per distinct (frequency, monetary_value) of repeat customers."""
    params = _summary_params(calibration_end, calibration_end, unit, channels, segments)
    return _grouped(store, params, "clv/gamma_gamma_groups", cursor)


def _fit_both(groups: pd.DataFrame, spend: pd.DataFrame, unit: str) -> tuple[BgNbdFit, GammaGammaFit | None]:
    """Both fits, each from its default starting point. (Starting the forecast's BG/NBD fit at the calibration
    fit saved a few likelihood evaluations, 23 instead of 29 at 1M customers, but made the forecast depend on the
    calibration end: from the default point, the forecast fitted at load serves every calibration end.)"""
    bgnbd = fit_bgnbd(groups["frequency"], groups["recency"], groups["T"], groups["customers"], unit=unit)
    spend_fit = None
    if spend["customers"].sum() >= 3:
        spend_fit = fit_gamma_gamma(spend["frequency"], spend["monetary_value"], spend["customers"])
    return bgnbd, spend_fit


def holdout_check(fit: BgNbdFit, groups: pd.DataFrame, holdout_days: int) -> HoldoutCheck:
    """Compare predicted and actual holdout purchases per calibration-frequency bin (like lifetimes'
    ``plot_calibration_purchases_vs_holdout_purchases``), with a 95 % t interval on the actual mean."""
    t = holdout_days / UNIT_DAYS[fit.unit]
    predicted = fit.expected_purchases(t, groups["frequency"], groups["recency"], groups["T"])
    frame = pd.DataFrame({
        "frequency_bin": np.minimum(groups["frequency"].to_numpy(), HOLDOUT_FREQUENCY_CAP),
        "customers": groups["customers"].to_numpy(),
        "predicted": predicted * groups["customers"].to_numpy(),
        "actual": groups["holdout_purchases"].to_numpy(dtype=float),
        "actual_squared": groups["holdout_purchases_squared"].to_numpy(dtype=float),
    })
    bins = frame.groupby("frequency_bin", as_index=False).sum()
    n = bins["customers"]
    bins["predicted_mean"] = bins["predicted"] / n
    bins["actual_mean"] = bins["actual"] / n
    variance = (bins["actual_squared"] - n * bins["actual_mean"] ** 2) / (n - 1)
    intervals = [
        mean_interval(m, math.sqrt(max(v, 0.0)) if k > 1 else math.nan, int(k))
        for m, v, k in zip(bins["actual_mean"], variance.fillna(0.0), n)
    ]
    bins["actual_ci_low"] = [i[0] for i in intervals]
    bins["actual_ci_high"] = [i[1] for i in intervals]
    bins["frequency_label"] = [
        f"{int(f)}+" if f == HOLDOUT_FREQUENCY_CAP else str(int(f)) for f in bins["frequency_bin"]
    ]
    return HoldoutCheck(
        bins=bins.drop(columns=["actual_squared"]), customers=int(n.sum()),
        predicted_total=float(bins["predicted"].sum()), actual_total=float(bins["actual"].sum()),
        holdout_days=holdout_days,
    )


def _weighted_correlation(frame: pd.DataFrame) -> float:
    if frame["customers"].sum() < 3:
        return math.nan
    matrix = np.cov(frame["frequency"], frame["monetary_value"], aweights=frame["customers"])
    denominator = math.sqrt(matrix[0, 0] * matrix[1, 1])
    return float(matrix[0, 1] / denominator) if denominator else math.nan


def requested_window(store: Store, calibration_end: date | None, horizon_days: int,
                     cursor) -> tuple[date, date]:
    """(calibration end, observation end) of a request: the default calibration end when none is given; a
    ``ValueError`` saying what is wrong when the data or the request leave nothing to fit or check."""
    first_day, observation_end = observation_window(store, cursor)
    if first_day is None:
        raise ValueError("There are no purchases to fit a CLV model on.")
    calibration_end = calibration_end or default_calibration_end(first_day, observation_end)
    if not first_day <= calibration_end < observation_end:
        raise ValueError(
            f"The calibration end {calibration_end} must be on or after the first purchase ({first_day}) and "
            f"before the end of the data ({observation_end}), so that a holdout period remains."
        )
    if horizon_days < 1:
        raise ValueError("The forecast horizon must be at least one day.")
    return calibration_end, observation_end


# The parts of a result another request can read from the result stored at load (ClvResult.read_from_load).
CALIBRATION_PART = "calibration fits and holdout check"
FORECAST_FITS_PART = "forecast fits"
FORECAST_PART = "forecast"


@dataclass(frozen=True)
class CalibrationFits:
    """The models fitted on the calibration period and their holdout check: they depend on the calibration end,
    the unit and the selection, not on the horizon."""

    bgnbd: BgNbdFit
    gamma_gamma: GammaGammaFit | None
    holdout: HoldoutCheck


@dataclass(frozen=True)
class ForecastFits:
    """The models fitted on the whole history, which the forecast uses: they depend on the unit and the selection
    only (the BG/NBD fit starts from the default point, not from the calibration fit)."""

    forward_bgnbd: BgNbdFit
    forward_gamma_gamma: GammaGammaFit | None
    frequency_value_correlation: float
    groups: int  # rows the BG/NBD likelihood was evaluated on (distinct x, t_x, T)


def fit_clv_on_demand(store: Store, calibration_end: date, observation_end: date, unit: str, horizon_days: int,
                      channels: tuple[str, ...], segments: tuple[str, ...], cursor,
                      started: float | None = None) -> ClvResult:
    """The fits, holdout check and forecast of :func:`engagement.retention.clv_default.fit_clv`, computed now
    (never read from the stored result), for a window :func:`requested_window` accepted. ``started``: the ``perf_counter`` that ``fit_seconds`` counts
    from."""
    return fit_parts(store, calibration_end, observation_end, unit, horizon_days, channels, segments, cursor,
                     time.perf_counter() if started is None else started)


def fit_parts(store: Store, calibration_end: date, observation_end: date, unit: str, horizon_days: int,
              channels: tuple[str, ...], segments: tuple[str, ...], cursor, started: float,
              calibration: CalibrationFits | None = None, forecast_fits: ForecastFits | None = None,
              forecast: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> ClvResult:
    """The result from the parts given (read from the result stored at load) and the others computed now."""
    read_from_load = []
    if calibration is None:
        calibration = _fit_calibration(store, calibration_end, observation_end, unit, channels, segments, cursor)
    else:
        read_from_load.append(CALIBRATION_PART)
    if forecast_fits is None or forecast is None:
        whole = _summary_params(observation_end, observation_end, unit, channels, segments)
        whole_rows, whole_summary = _summary_rows(store, whole, cursor)
        forward_groups = _over_summary(store, whole_rows, whole_summary, "clv/bgnbd_groups")
    if forecast_fits is None:
        forward_spend_groups = _over_summary(store, whole_rows, whole_summary, "clv/gamma_gamma_groups")
        forward_bgnbd, forward_spend = _fit_both(forward_groups, forward_spend_groups, unit)
        forecast_fits = ForecastFits(forward_bgnbd, forward_spend, _weighted_correlation(forward_spend_groups),
                                     len(forward_groups))
    else:
        read_from_load.append(FORECAST_FITS_PART)
    if forecast is None:
        forecast = forecast_customers(store, whole_rows, whole_summary, forecast_fits.forward_bgnbd,
                                      forecast_fits.forward_gamma_gamma, forward_groups, horizon_days, TOP_CUSTOMERS,
                                      cursor)
    else:
        read_from_load.append(FORECAST_PART)
    bands, top = forecast
    return ClvResult(
        unit=unit, calibration_end=calibration_end, observation_end=observation_end, horizon_days=horizon_days,
        **{field.name: getattr(calibration, field.name) for field in fields(CalibrationFits)},
        **{field.name: getattr(forecast_fits, field.name) for field in fields(ForecastFits)},
        forecast_bands=bands, top_customers=top, fit_seconds=time.perf_counter() - started,
        read_from_load=tuple(read_from_load),
    )


def _fit_calibration(store: Store, calibration_end: date, observation_end: date, unit: str,
                     channels: tuple[str, ...], segments: tuple[str, ...], cursor) -> CalibrationFits:
    calibration = _summary_params(calibration_end, observation_end, unit, channels, segments)
    calibration_rows, calibration_summary = _summary_rows(store, calibration, cursor)
    groups = _over_summary(store, calibration_rows, calibration_summary, "clv/bgnbd_groups")
    if groups.empty:
        raise ValueError("No customers in this selection bought before the calibration end.")
    spend_groups = _over_summary(store, calibration_rows, calibration_summary, "clv/gamma_gamma_groups")
    bgnbd, spend = _fit_both(groups, spend_groups, unit)
    return CalibrationFits(bgnbd, spend, holdout_check(bgnbd, groups, (observation_end - calibration_end).days))


def clv_as_record(result: ClvResult) -> dict:
    """The CLI's JSON: parameters under their usual names, log-likelihoods, holdout check, forecast."""
    def bgnbd(fit: BgNbdFit) -> dict:
        values = dict(zip(("r", "alpha", "a", "b"), fit.params.tolist()))
        values.update({f"{k}_se": se for k, se in zip(("r", "alpha", "a", "b"), fit.standard_errors)})
        return {**values, "log_likelihood": fit.log_likelihood, "n_customers": fit.n_customers,
                "converged": fit.converged, "identified": fit.identified,
                "identification_problem": fit.identification_problem}

    def gamma_gamma(fit: GammaGammaFit | None) -> dict:
        names = ("p", "q", "gamma")
        if fit is None:
            return {name: None for name in names} | {"gamma_gamma_log_likelihood": None, "n_repeat_customers": 0}
        values = dict(zip(names, fit.params.tolist()))
        values.update({f"{k}_se": se for k, se in zip(names, fit.standard_errors)})
        return {**values, "gamma_gamma_log_likelihood": fit.log_likelihood, "n_repeat_customers": fit.n_customers}

    return {
        "unit": result.unit,
        "calibration_end": result.calibration_end.isoformat(),
        "observation_end": result.observation_end.isoformat(),
        **bgnbd(result.bgnbd),
        **gamma_gamma(result.gamma_gamma),
        "holdout": {
            "days": result.holdout.holdout_days,
            "customers": result.holdout.customers,
            "predicted_repeat_purchases": result.holdout.predicted_total,
            "actual_repeat_purchases": result.holdout.actual_total,
            "relative_error": result.holdout.relative_error,
            "by_calibration_frequency": result.holdout.bins[
                ["frequency_label", "customers", "predicted_mean", "actual_mean", "actual_ci_low", "actual_ci_high"]
            ].to_dict("records"),
        },
        "forecast": {
            "horizon_days": result.horizon_days,
            "model": {**bgnbd(result.forward_bgnbd), **gamma_gamma(result.forward_gamma_gamma)},
            "customers": result.customers,
            "expected_purchases": result.expected_purchases,
            "predicted_revenue": result.predicted_revenue,
            "average_probability_alive": result.average_probability_alive,
            "frequency_value_correlation": result.frequency_value_correlation,
            "by_probability_alive": result.forecast_bands.to_dict("records"),
        },
        "fit_seconds": result.fit_seconds,
        "fitted_at_load": result.fitted_at_load,  # read from the result stored at load (fit_seconds is that fit's)
        "read_from_load": list(result.read_from_load),  # else the parts of that result read, the rest fitted now
    }
