"""The CLV forecast: BG/NBD and Gamma-Gamma predictions per (x, t_x, T) group, added up into P(alive) bands, and
the customers with the highest predicted revenue.

Every customer of a group of clv/bgnbd_groups.sql has the same P(alive) and expected purchases, and eq. 5 of the
Gamma-Gamma note is linear in the customer's total repeat value, so the bands need the groups only (with each
group's exact repeat value); only the top customers are looked for among customers, in the few groups that can
hold one. ``engagement.retention.clv`` fits the models and calls :func:`forecast_customers`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from engagement.stats.bgnbd import UNIT_DAYS, BgNbdFit
from engagement.stats.gamma_gamma import GammaGammaFit
from engagement.warehouse.query_records import QueryRecord
from engagement.sql import read_sql
from engagement.warehouse.store import Store

# The top customers' SQL reads frames computed here; "Show SQL" says so (they cannot be re-run as SQL alone).
FORECAST_FRAMES = (
    ("group_predictions", "P(alive) and expected purchases per (frequency, recency, T) group that can hold one of "
                          "the top customers, computed in Python from the fitted BG/NBD"),
    ("gamma_gamma_params", "the fitted Gamma-Gamma parameters p, q, gamma (one row), from Python"),
)


def group_forecast(fit: BgNbdFit, spend: GammaGammaFit | None, groups: pd.DataFrame,
                   horizon_days: int) -> pd.DataFrame:
    """The forecast per (x, t_x, T) group of :func:`engagement.retention.clv.bgnbd_groups`: P(alive) and expected purchases
    in the horizon (the same for every customer of the group) and the group's predicted revenue, its expected
    purchases times the Gamma-Gamma expected purchase values of its customers added up
    (:meth:`GammaGammaFit.summed_expected_average_value`, from the group's exact repeat value)."""
    x, t_x, T = (groups[name].to_numpy(dtype=float) for name in ("frequency", "recency", "T"))
    expected = fit.expected_purchases(horizon_days / UNIT_DAYS[fit.unit], x, t_x, T)
    if spend is None:
        value = np.full(len(groups), math.nan)
    else:
        value = spend.summed_expected_average_value(x, groups["customers"], groups["spending_customers"],
                                                    groups["repeat_value"])
    return pd.DataFrame({
        "frequency": groups["frequency"], "recency": groups["recency"], "T": groups["T"],
        "customers": groups["customers"], "probability_alive": fit.probability_alive(x, t_x, T),
        "expected_purchases": expected, "predicted_revenue": expected * value,
    })


def forecast_bands(forecast: pd.DataFrame) -> pd.DataFrame:
    """One row per P(alive) band (tenths) per kind of customer (one purchase day or repeat): customers, expected
    purchases, predicted revenue and average P(alive), added up over the groups of :func:`group_forecast`.

    BG/NBD lets customers drop out only right after a purchase, so a customer with no repeat purchase is always
    "alive" (P = 1); the kind keeps them apart from repeat customers on the chart. The groups are added in their
    (frequency, recency, T) order, so that the sums of doubles are the same to the last bit in every run (the
    result stored at load equals a fit on demand).
    """
    customers = forecast["customers"].to_numpy(dtype=np.int64)
    alive = forecast["probability_alive"].to_numpy()
    per_group = pd.DataFrame({
        "band": np.minimum(9, np.floor(alive * 10)).astype(np.int64),
        "customer_kind": np.where(forecast["frequency"].to_numpy() > 0, "repeat customers", "one purchase day"),
        "customers": customers,
        "expected_purchases": forecast["expected_purchases"].to_numpy() * customers,
        "predicted_revenue": forecast["predicted_revenue"].to_numpy(),
        "alive_customers": alive * customers,
    })
    bands = per_group.groupby(["band", "customer_kind"], as_index=False, sort=True).sum()
    return pd.DataFrame({
        "probability_alive_from": bands["band"] / 10.0, "probability_alive_to": (bands["band"] + 1) / 10.0,
        "customer_kind": bands["customer_kind"], "customers": bands["customers"],
        "expected_purchases": bands["expected_purchases"], "predicted_revenue": bands["predicted_revenue"],
        "average_probability_alive": bands["alive_customers"] / bands["customers"],
    })


def top_customer_groups(forecast: pd.DataFrame, groups: pd.DataFrame, spend: GammaGammaFit | None,
                        top: int) -> np.ndarray:
    """Which groups of :func:`group_forecast` can hold one of the ``top`` highest predicted revenues (a mask).

    A group's best customer predicts ``E x E(M)`` with E(M) that of its largest average repeat value (eq. 5
    grows with m_x when p x + q > 1), or the population mean for its customers without repeat spend. These bests
    are customers, so the ``top``-th largest of them is at most the ``top``-th largest revenue of all: a group
    whose best falls below it holds no top customer. Every group is kept when the values are not all finite or
    eq. 5 does not grow with m_x (nothing is left out then).
    """
    keep_all = np.ones(len(groups), dtype=bool)
    if spend is None or len(groups) <= top:
        return keep_all
    x = groups["frequency"].to_numpy(dtype=float)
    spenders = groups["spending_customers"].to_numpy() > 0
    others = groups["customers"].to_numpy() > groups["spending_customers"].to_numpy()
    denominator = spend.p * x + spend.q - 1
    if np.any(denominator[spenders] <= 0):
        return keep_all
    largest = groups["largest_monetary_value"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        spending_best = np.where(spenders, (spend.gamma + largest * x) * spend.p / denominator, -np.inf)
    best_value = np.maximum(spending_best, np.where(others, spend.population_mean_value, -np.inf))
    best = forecast["expected_purchases"].to_numpy() * best_value
    if not np.all(np.isfinite(best)):
        return keep_all
    cut = np.partition(best, len(best) - top)[len(best) - top]
    return best >= cut - abs(cut) * 1e-9  # a margin for the last bits DuckDB may round differently


def forecast_customers(store: Store, rows, summary: QueryRecord, fit: BgNbdFit, spend: GammaGammaFit | None,
                       groups: pd.DataFrame, horizon_days: int, top: int, cursor) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The forecast bands and the ``top`` customers by predicted revenue, of the customers in ``rows`` (the
    summary relation that ``summary`` gave, read as ``customer_summary_rows``), grouped as ``groups``
    (clv/bgnbd_groups.sql over them).

    Predicts per (x, t_x, T) group in numpy and adds the groups up into P(alive) bands (212,117 groups instead of
    862,826 customers at 1M); joins the predictions of the groups that can hold a top customer to their customers
    in DuckDB for the top customers.
    """
    forecast = group_forecast(fit, spend, groups, horizon_days)
    candidates = forecast[top_customer_groups(forecast, groups, spend, top)]
    group_predictions = candidates[["frequency", "recency", "T", "probability_alive", "expected_purchases"]]
    gamma_gamma_params = pd.DataFrame([{
        "p": spend.p if spend else math.nan, "q": spend.q if spend else math.nan,
        "gamma": spend.gamma if spend else math.nan,
        "population_mean_value": spend.population_mean_value if spend else math.nan,
    }])
    cur = cursor or store.cursor()
    cur.register("group_predictions", group_predictions)
    cur.register("gamma_gamma_params", gamma_gamma_params)
    forecast_run = QueryRecord("clv/customer_forecast", inputs=(("customer_summary_rows", summary),),
                               frames=FORECAST_FRAMES)
    store.remember_query(forecast_run)
    try:
        customers = rows.query("customer_summary_rows", read_sql("clv/customer_forecast"))
        top_customers = customers.order("predicted_revenue desc, customer_id").limit(top).df()
    finally:
        cur.unregister("group_predictions")
        cur.unregister("gamma_gamma_params")
    return forecast_bands(forecast), top_customers
