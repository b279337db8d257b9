"""The CLV page's default request, fitted once when data is loaded and its result kept in derived tables.

The RFM/CLV page opens with a 182-day holdout, weeks as the time unit, a 90-day horizon and every customer
(``pages/rfm_clv.py``). The stored summaries ``clv_calibration_summary`` and ``clv_history_summary`` already hold
that request's model inputs; :func:`store_default_clv_model`, called by the derived build (``engagement/derived/``) in the
load's transaction after them, runs the whole pipeline (``engagement.retention.clv.fit_clv_on_demand``) on them and stores its
result (or why it could not be fitted). :func:`fit_clv` returns the stored result when asked for
exactly those settings, fitted with the same model settings (:func:`model_settings`, also part of the derived
tables' fingerprint), and fits on demand otherwise. The pipeline is deterministic for the same rows, so both
paths give the same result (tests/test_stored_views.py compares them field by field).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, fields
from datetime import date
from importlib.metadata import version
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from engagement.retention import clv
from engagement.stats.bgnbd import BgNbdFit
from engagement.stats.gamma_gamma import GammaGammaFit
from engagement.warehouse.query_records import QueryRecord
from engagement.sql import read_sql
from engagement.warehouse.store import Store

# The page's defaults besides the holdout, which clv_calibration_summary stores (checked against the page by
# tests/test_stored_views.py).
DEFAULT_UNIT = "week"
DEFAULT_HORIZON_DAYS = 90

# One row of settings and scalar results; one table per frame of the result (field it fills).
STORED_MODEL = "clv_default_model"
STORED_MODEL_FRAMES = {
    "clv_default_fits": "fits",
    "clv_default_holdout_bins": "holdout.bins",
    "clv_default_forecast_bands": "forecast_bands",
    "clv_default_top_customers": "top_customers",
}
STORED_MODEL_TABLES = (STORED_MODEL, *STORED_MODEL_FRAMES)
FITS = ("bgnbd", "gamma_gamma", "forward_bgnbd", "forward_gamma_gamma")  # ClvResult's fields, rows of _fits

# What the result is computed by: its modules and SQL files (a change refits at the next writable open).
_MODULES = ("retention/clv.py", "retention/clv_forecast.py", "stats/bgnbd.py", "stats/gamma_gamma.py",
            "stats/intervals.py", "stats/mle.py")
_SQL = ("clv/customer_summary", "clv/stored_calibration_summary", "clv/stored_history_summary",
        "clv/selected_summary_rows", "clv/bgnbd_groups",
        "clv/gamma_gamma_groups", "clv/customer_forecast")


def model_settings() -> str:
    """Everything besides the data that decides the result, as JSON text: the list sizes, a sha256 of the code
    and SQL that compute it, and the versions of the libraries it runs on. A stored result is used only when it
    was fitted with these settings, and they are part of the derived tables' fingerprint, so a change here (or
    another numpy, SciPy, pandas or DuckDB) refits once at the next writable open."""
    package = Path(__file__).resolve().parents[1]  # engagement/
    code = hashlib.sha256()
    for name in _MODULES:
        code.update((package / name).read_bytes())
    for name in _SQL:
        code.update(read_sql(name).encode())
    return json.dumps({
        "top_customers": clv.TOP_CUSTOMERS, "holdout_frequency_cap": clv.HOLDOUT_FREQUENCY_CAP,
        "code_sha256": code.hexdigest(),
        **{library: version(library) for library in ("numpy", "scipy", "pandas", "duckdb")},
    }, sort_keys=True)


def store_default_clv_model(store: Store, cur) -> None:
    """Fit the page's default request on the stored summaries and store its result (or why it could not be
    fitted). ``Store._refresh_derived`` calls this in the load's transaction, after the stored summaries are
    rebuilt. ``fit_seconds`` in ``clv_default_model`` is what the fit added to the load.
    """
    settings = store.stored_view_params("clv_calibration_summary", cur)
    channels, segments = tuple(settings["channels"]), tuple(settings["segments"])
    started = time.perf_counter()
    result, problem, calibration_end, observation_end = None, None, settings["calibration_end"], None
    try:
        # Raises the on-demand error when there are no purchases or no holdout remains.
        calibration_end, observation_end = clv.requested_window(store, calibration_end, DEFAULT_HORIZON_DAYS, cur)
        result = clv.fit_clv_on_demand(store, calibration_end, observation_end, DEFAULT_UNIT, DEFAULT_HORIZON_DAYS,
                                       channels, segments, cur, started)
    except ValueError as reason:  # too little data: the default request raises the same error from the row
        problem = str(reason)
    except Exception as reason:  # a modelling failure must not block loading data: the page shows it instead
        if isinstance(reason, duckdb.Error):
            raise  # the load's transaction is aborted: the load fails and is rolled back
        problem = f"The CLV model could not be fitted when the data was loaded ({type(reason).__name__}: {reason})."
    holdout = getattr(result, "holdout", None)
    row = {
        "calibration_end": calibration_end, "observation_end": observation_end, "unit": DEFAULT_UNIT,
        "horizon_days": DEFAULT_HORIZON_DAYS, "channels": list(channels), "segments": list(segments),
        "model_settings": model_settings(), "problem": problem,
        "holdout_customers": getattr(holdout, "customers", None),
        "holdout_predicted_total": getattr(holdout, "predicted_total", None),
        "holdout_actual_total": getattr(holdout, "actual_total", None),
        "holdout_days": getattr(holdout, "holdout_days", None),
        "frequency_value_correlation": getattr(result, "frequency_value_correlation", None),
        "groups": getattr(result, "groups", None),
        "fit_seconds": time.perf_counter() - started,
    }
    cur.execute(f"CREATE OR REPLACE TABLE {STORED_MODEL} AS " + read_sql(f"derived/{STORED_MODEL}"), row)
    for table, field in STORED_MODEL_FRAMES.items():
        if result is None:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
            continue
        frame = _fits_frame(result) if field == "fits" else _attribute(result, field)
        cur.register("clv_result_frame", frame.assign(position=np.arange(len(frame))))
        try:
            cur.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM clv_result_frame")
        finally:
            cur.unregister("clv_result_frame")


def _attribute(result: clv.ClvResult, dotted: str):
    value = result
    for name in dotted.split("."):
        value = getattr(value, name)
    return value


def _fits_frame(result: clv.ClvResult) -> pd.DataFrame:
    """One row per fitted model (a Gamma-Gamma fit that did not happen has none)."""
    rows = []
    for name in FITS:
        fit = getattr(result, name)
        if fit is None:
            continue
        rows.append({"fit": name, "parameters": fit.params.tolist(), "standard_errors": list(fit.standard_errors),
                     "log_likelihood": fit.log_likelihood, "n_customers": fit.n_customers,
                     "converged": fit.converged, "unit": getattr(fit, "unit", None)})
    return pd.DataFrame(rows)


def _float_or_nan(value) -> float:
    """A stored standard error: an undefined one (NaN when stored) comes back as NULL, which the list reads as
    None or as numpy's masked constant; float() of the latter warns, so map both to NaN here."""
    if value is None or value is np.ma.masked:
        return math.nan
    return float(value)


def _fit_from_row(row: dict) -> BgNbdFit | GammaGammaFit:
    values = {"log_likelihood": float(row["log_likelihood"]), "n_customers": int(row["n_customers"]),
              "standard_errors": tuple(_float_or_nan(v) for v in row["standard_errors"]),
              "converged": bool(row["converged"])}
    parameters = [float(v) for v in row["parameters"]]
    if row["fit"].endswith("bgnbd"):
        return BgNbdFit(*parameters, **values, unit=row["unit"])
    return GammaGammaFit(*parameters, **values)


@dataclass(frozen=True)
class StoredParts:
    """What a request can read from the result fitted at load (:func:`stored_clv_parts`); None where it cannot."""

    result: clv.ClvResult | None = None  # the whole result: fitted with exactly the request's settings
    calibration: clv.CalibrationFits | None = None  # same calibration end, unit and selection
    forecast_fits: clv.ForecastFits | None = None  # same unit and selection
    forecast: tuple[pd.DataFrame, pd.DataFrame] | None = None  # forecast bands and top customers: and same horizon


def stored_clv_parts(store: Store, calibration_end: date, observation_end: date, unit: str, horizon_days: int,
                     channels, segments, cur) -> StoredParts:
    """The parts of the result fitted at load that a request with these settings can use: all of it when it was
    fitted with exactly these settings (raising the ``ValueError`` the fit raised at load when it could not be
    fitted), the parts that do not depend on the settings that differ otherwise (see :func:`fit_clv`),
    none when the unit, selection, observation end or model settings differ."""
    if not store.has_table(STORED_MODEL, cur):
        return StoredParts()  # a database built by an older version, opened read-only
    read = cur.execute(read_sql(f"clv/stored_{STORED_MODEL}"))
    names = [column[0] for column in read.description]
    row = dict(zip(names, read.fetchall()[0]))
    asked = (observation_end, unit, list(channels), list(segments), model_settings())
    keys = ("observation_end", "unit", "channels", "segments", "model_settings")
    if tuple(row[name] for name in keys) != asked:
        return StoredParts()
    same_calibration, same_horizon = row["calibration_end"] == calibration_end, row["horizon_days"] == horizon_days
    if row["problem"] is not None:
        if not (same_calibration and same_horizon):
            return StoredParts()  # fitted on demand, which says what is wrong with these settings
        store.remember_query(QueryRecord(f"clv/stored_{STORED_MODEL}"))
        raise ValueError(row["problem"])
    store.remember_query(QueryRecord(f"clv/stored_{STORED_MODEL}"))
    fit_rows = store.query("clv/stored_clv_default_fits", cursor=cur).to_dict("records")
    fits = {fit_row["fit"]: _fit_from_row(fit_row) for fit_row in fit_rows}
    forecast_fits = clv.ForecastFits(fits["forward_bgnbd"], fits.get("forward_gamma_gamma"),
                                     float(row["frequency_value_correlation"]), int(row["groups"]))
    calibration = None
    if same_calibration:
        holdout = clv.HoldoutCheck(
            bins=store.query("clv/stored_clv_default_holdout_bins", cursor=cur),
            customers=int(row["holdout_customers"]), predicted_total=float(row["holdout_predicted_total"]),
            actual_total=float(row["holdout_actual_total"]), holdout_days=int(row["holdout_days"]),
        )
        calibration = clv.CalibrationFits(fits["bgnbd"], fits.get("gamma_gamma"), holdout)
    forecast = None
    if same_horizon:
        forecast = (store.query("clv/stored_clv_default_forecast_bands", cursor=cur),
                    store.query("clv/stored_clv_default_top_customers", cursor=cur))
    if calibration is None or forecast is None:
        return StoredParts(None, calibration, forecast_fits, forecast)
    bands, top = forecast
    return StoredParts(clv.ClvResult(
        unit=unit, calibration_end=calibration_end, observation_end=observation_end, horizon_days=horizon_days,
        **{field.name: getattr(calibration, field.name) for field in fields(clv.CalibrationFits)},
        **{field.name: getattr(forecast_fits, field.name) for field in fields(clv.ForecastFits)},
        forecast_bands=bands, top_customers=top, fit_seconds=float(row["fit_seconds"]), fitted_at_load=True,
    ))


def fit_clv(store: Store, calibration_end: date | None = None, unit: str = "week", horizon_days: int = 90,
            channels: tuple[str, ...] = (), segments: tuple[str, ...] = (), cursor=None) -> clv.ClvResult:
    """Fit BG/NBD and Gamma-Gamma, check them on the holdout, and forecast the next ``horizon_days``.

    For the settings fitted at load time (the page's default) the stored result is returned instead: the same
    result (``fitted_at_load`` set, ``fit_seconds`` that of the load's fit), read from derived tables. For other
    settings, the parts of that result that do not depend on the setting changed are read from it
    (``read_from_load`` names them) and the rest is computed: the calibration fits and holdout check depend on the
    calibration end, unit and selection, the forecast's fits on the unit and selection only, the forecast on
    those and the horizon. Each part is computed deterministically, so the result is the one computing it all
    would give (tests/test_stored_views.py).

    Parameters
    ----------
    calibration_end : date, optional
        Last day of the calibration period (default: :func:`engagement.retention.clv.default_calibration_end`).
    unit : {"week", "day"}
        Time unit of recency, T and the parameters (alpha scales with it; r, a, b do not).
    horizon_days : int
        Forecast horizon for expected purchases and revenue.
    channels, segments : tuple of str
        Acquisition channels / lifecycle stages to model (empty: all customers).
    """
    started = time.perf_counter()
    cursor = cursor or store.cursor()  # one connection: the summary relations and the forecast's frames meet on it
    calibration_end, observation_end = clv.requested_window(store, calibration_end, horizon_days, cursor)
    stored = stored_clv_parts(store, calibration_end, observation_end, unit, horizon_days, channels, segments,
                              cursor)
    if stored.result is not None:
        return stored.result
    return clv.fit_parts(store, calibration_end, observation_end, unit, horizon_days, channels, segments, cursor,
                      started, stored.calibration, stored.forecast_fits, stored.forecast)
