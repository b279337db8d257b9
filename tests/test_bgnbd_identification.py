"""BG/NBD on customers who are never seen dropping out: a -> 0, b -> infinity. The fit says it is not
identified (in the result, the CLI JSON and the page), keeps the forecast, and emits no Python warning.

The data are simulated from the model's own no-dropout limit (Poisson purchasing with Gamma-distributed
rates, numpy seed 42), for which the likelihood is maximised on the boundary; Online Retail does the same
(`report clv` printed a = 6.6e-7, b = 22,378, a_se null and the warning "converting a masked element to nan").
"""

from __future__ import annotations

import io
import json
import warnings
from contextlib import redirect_stdout

import numpy as np
import pandas as pd
import pytest

from engagement import cli
from engagement.stats.bgnbd import fit_bgnbd
from engagement.workbench import open_workbench


def _no_dropout_orders(customers: int = 1_500, seed: int = 42) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2022-01-01")
    rows = []
    for i in range(customers):
        first = rng.uniform(0, 300)
        rate = rng.gamma(2.0, 0.02)  # purchases per day, never stopping
        span = 730 - first
        times = np.sort(np.r_[0.0, rng.uniform(0, span, rng.poisson(rate * span))])
        for k, t in enumerate(times):
            rows.append((f"o{i}-{k}", f"c{i}", start + pd.Timedelta(days=float(first + t)), 20.0 + (k % 7)))
    return pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at", "net_revenue"]).assign(status="paid")


def test_no_dropout_fit_is_flagged_not_identified():
    orders = _no_dropout_orders(800)
    first = orders.groupby("customer_id")["ordered_at"].agg(["min", "max", "count"])
    end = orders["ordered_at"].max()
    days = orders.assign(day=orders["ordered_at"].dt.normalize()).groupby("customer_id")["day"].nunique()
    fit = fit_bgnbd(days.to_numpy() - 1, (first["max"] - first["min"]).dt.days / 7, (end - first["min"]).dt.days / 7)
    assert fit.a < 1e-3 or fit.b > 1e3  # the boundary the issue describes
    assert not fit.identified and "not separately identified" in fit.identification_problem
    assert np.isfinite(fit.expected_purchases_new_customer(52.0)).all()  # the forecast is kept


def test_cdnow_like_parameters_are_identified():
    """FHL 2005 table 1 (CDNOW): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426 with finite errors."""
    from engagement.stats.bgnbd import BgNbdFit

    fit = BgNbdFit(0.243, 4.414, 0.793, 2.426, -9582.4, 2357, (0.02, 0.5, 0.2, 0.7), True, "week")
    assert fit.identified and fit.identification_problem is None


@pytest.fixture(scope="module")
def no_dropout_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("nodrop") / "nodrop.duckdb"
    store = open_workbench(str(path), read_only=False)
    store.load_frame("orders", _no_dropout_orders())
    store.close()
    return path


def test_report_clv_says_not_identified_without_a_warning(no_dropout_db):
    out = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "converting a masked element to nan" was a UserWarning
        with redirect_stdout(out):
            code = cli.main(["report", "clv", "--db", str(no_dropout_db)])
    assert code == 0
    record = json.loads(out.getvalue())
    assert record["identified"] is False and "a -> 0" in record["identification_problem"]
    assert record["converged"] is True
    assert record["forecast"]["expected_purchases"] > 0
