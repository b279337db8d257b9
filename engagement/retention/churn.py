"""Churn risk: a scikit-learn model of "no purchase in the next N days" from RFM and engagement features.

Training looks back: features are computed as of ``cutoff = end of data - N days`` and the label is
whether the customer bought in the N days after it (``sql/churn/churn_features.sql``), for a fixed sample of
the customers who bought before the cutoff (``ENGAGEMENT_CHURN_SAMPLE_CUSTOMERS``, default
``TRAINING_SAMPLE_CUSTOMERS``, drawn by md5 of their id, the same on DuckDB and Spark). A
random 30 % of them (fixed seed) is held out to measure discrimination (AUC with a 95 % interval) and
calibration (predicted vs observed churn per decile of predicted risk), so users can judge how far
to trust the scores. The fitted model then scores every customer as of the end of the data.

The features scored do not depend on the horizon (no purchase lies after the end of the data), so every
request scores the stored ``churn_current_features``, narrowed to a channel or segment selection when there
is one. The page's default request (the horizon and selection of the stored training features) is fitted
once when data is loaded (:func:`store_default_churn_model`, called by ``Store._refresh_derived`` in the load's
transaction) and its result kept in derived tables (``STORED_MODEL_TABLES``); :func:`fit_churn_model` returns
that result when asked for exactly those settings, and fits on demand otherwise. The fit is deterministic
(fixed seeds, one OpenMP thread per Python thread, rows in customer order), so both paths give the same result.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib.metadata import version

import duckdb
import numpy as np
import pandas as pd

from engagement.config import DEFAULT_CHURN_SAMPLE_CUSTOMERS, churn_sample_customers
from engagement.stats.auc import hanley_mcneil_interval, rank_auc
from engagement.stats.intervals import wilson_interval
from engagement.warehouse.query_records import QueryRecord
from engagement.sql import read_sql
from engagement.warehouse.store import Store

FEATURES = (
    "recency_days", "tenure_days", "orders", "revenue", "average_order_value", "orders_90d", "revenue_90d",
    "discounted_order_share", "site_visits_90d", "product_interest_90d", "email_clicks_90d", "sms_clicks_90d",
    "email_opens_90d", "support_tickets_90d", "messages_90d", "latest_nps_score", "is_loyalty_member",
    "accepts_marketing",
)
RANDOM_STATE = 42
# Customers whose features are computed to train and hold out: the SQL groups the history of these many (the
# smallest hash of their id among those who bought before the cutoff), not of every customer (768,751 at the
# 1M-customer demo's 60-day cutoff, where the sample cut the query's CPU from 2.7 s to 0.7 s). The default;
# ENGAGEMENT_CHURN_SAMPLE_CUSTOMERS sets another (config.churn_sample_customers), whose features are then computed
# when the model is fitted (derived/churn_training_features.sql stores the default's).
TRAINING_SAMPLE_CUSTOMERS = DEFAULT_CHURN_SAMPLE_CUSTOMERS
HOLDOUT_SHARE = 0.3
# Beyond this the fit trains on a sample stratified by the label (fixed seed); holdout AUC is still on every
# held-out customer. On the 1M-customer demo (725,361 customers, 217,520 held out), 100,000 training rows
# gave AUC 0.9885 (95 % CI 0.9882-0.9889) in 1.1 s, 50,000 gave 0.9882 in 0.46 s and 20,000 gave 0.9875,
# outside that interval.
MAX_TRAINING_ROWS = 50_000
# 20 trees at learning rate 0.2 and no early stopping: every current customer goes through every tree, so the
# trees set most of a request's time. On the 1M-customer demo they matched the earlier 150 trees at rate 0.1
# with early stopping (which kept 98 at 60 days, 68 at 90), in under a quarter of the scoring time: holdout AUC
# over 5 training draws of 50,000, judged on the same 150,000-215,000 customers neither model trained on, at
# 30 / 60 / 90 / 180 days 0.9773 / 0.9836 / 0.9881 / 0.9755 against 0.9771 / 0.9837 / 0.9880 / 0.9755.
MODEL_PARAMETERS = {"max_iter": 20, "learning_rate": 0.2, "early_stopping": False}
IMPORTANCE_ROWS = 3_000  # held-out customers permuted for the importance, in 3 repeats
IMPORTANCE_REPEATS = 3
AT_RISK_LIST_SIZE = 200
# Three different "risks" appear in the app; their names differ and this says how they relate.
CHURN_RISK_NAMING = (
    "Likely to churn: the churn model's predicted probability (≥ 50 %) of no purchase in the next period, from "
    "each customer's whole history. Not the same as the Lifecycle stage \"At risk\" (a rule: a set number of "
    "days without a purchase, before lapsing) nor the RFM segment \"At risk\" (recency score 1-2 with "
    "frequency 3-4: bought often, long ago); a customer can be in any of them without the others.")
# Python threads predicting, each with one OpenMP thread, and rows per prediction call (see _predicted_risk).
PREDICTION_THREADS = 2
PREDICTION_BLOCK_ROWS = 50_000


@dataclass(frozen=True)
class ChurnModelResult:
    """Holdout quality of the churn model and the current risk of every customer."""

    horizon_days: int
    cutoff: date
    training_customers: int
    holdout_customers: int
    holdout_churned: int
    auc: float
    auc_ci_low: float
    auc_ci_high: float
    brier_score: float
    base_rate: float  # observed churn share in the holdout
    calibration: pd.DataFrame  # one row per decile of predicted risk
    feature_importance: pd.DataFrame  # permutation importance (drop in holdout AUC)
    risk_bands: pd.DataFrame  # current customers per tenth of predicted risk
    at_risk_customers: pd.DataFrame  # risk >= 0.5, highest lifetime revenue first


def calibration_table(predicted: np.ndarray, observed: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Observed vs predicted churn per quantile bin of predicted risk, with Wilson intervals.

    Rows sum to the holdout: ``customers`` adds up to ``len(predicted)`` and ``churned`` to ``observed.sum()``.
    """
    order = np.argsort(predicted, kind="stable")
    rows = []
    for number, index in enumerate(np.array_split(order, bins), start=1):
        if len(index) == 0:
            continue
        churned = int(observed[index].sum())
        low, high = wilson_interval(churned, len(index))
        rows.append({
            "bin": number, "customers": len(index), "churned": churned,
            "predicted_from": float(predicted[index].min()), "predicted_to": float(predicted[index].max()),
            "mean_predicted": float(predicted[index].mean()), "observed_rate": churned / len(index),
            "observed_ci_low": low, "observed_ci_high": high,
        })
    return pd.DataFrame(rows)


# Derived tables holding churn/churn_features.sql: the training sample for the page's default horizon, and every
# customer's features as of the end of the data (scored for any horizon).
STORED_FEATURES = ("churn_training_features", "churn_current_features")


def _training_features(store: Store, cutoff: datetime, horizon_days: int, channels, segments,
                       cursor) -> pd.DataFrame:
    """``churn/churn_features.sql`` for the training sample as of ``cutoff``: from the derived table when it stores
    exactly these parameters (the page's default horizon), otherwise computed on demand."""
    params = {"cutoff": cutoff, "label_end": cutoff + timedelta(days=horizon_days), "channels": list(channels),
              "segments": list(segments), "sample_customers": churn_sample_customers()}
    if store.stored_view_params(STORED_FEATURES[0], cursor) == params:
        return store.query(f"churn/stored_{STORED_FEATURES[0]}", cursor=cursor)
    return store.query("churn/churn_features", params, cursor=cursor)


def _current_features(store: Store, end_of_data: datetime, horizon_days: int, channels, segments, cursor):
    """``churn/churn_features.sql`` as of the end of the data for every selected customer (the rows to score), as
    an Arrow table (see :func:`_current_request`)."""
    name, params, inputs = _current_request(store, end_of_data, horizon_days, channels, segments, cursor)
    return store.query_arrow(name, params, cursor=cursor, inputs=inputs)


def _current_request(store: Store, end_of_data: datetime, horizon_days: int, channels, segments, cursor):
    """The query of every selected customer's features as of the end of the data: (name, parameters, inputs).

    Their label window lies after the data, so no customer has a purchase in it and the rows are the same for
    any horizon: the derived table (every customer, as of this end of data) serves every request, narrowed to
    the selection when there is one. Computed on demand only when the database has no such table (built by an
    older version, opened read-only).
    """
    every_customer = {"cutoff": end_of_data, "channels": [], "segments": [], "sample_customers": None}
    stored = store.stored_view_params(STORED_FEATURES[1], cursor)
    if stored is not None and {name: value for name, value in stored.items() if name != "label_end"} == every_customer:
        rows = QueryRecord(f"churn/stored_{STORED_FEATURES[1]}")
        if not channels and not segments:
            return rows.name, {}, ()
        return ("churn/selected_churn_feature_rows", {"channels": list(channels), "segments": list(segments)},
                (("churn_feature_rows", rows),))
    return "churn/churn_features", {
        "cutoff": end_of_data, "label_end": end_of_data + timedelta(days=horizon_days), "channels": list(channels),
        "segments": list(segments), "sample_customers": None}, ()


def fit_churn_model(store: Store, horizon_days: int = 90, channels: tuple[str, ...] = (),
                    segments: tuple[str, ...] = (), cursor=None) -> ChurnModelResult:
    """Train, evaluate on a holdout, and score current customers.

    For the settings fitted at load time (the page's default) the stored result is returned instead: the same
    result, read from derived tables in milliseconds.

    Parameters
    ----------
    horizon_days : int
        "Churned" means no purchase in this many days.
    channels, segments : tuple of str
        Acquisition channels / lifecycle stages to include (empty: all).
    """
    cur = cursor or store.cursor()
    end_of_data = _end_of_data(store, cur)
    stored = _stored_result(store, horizon_days, end_of_data - timedelta(days=horizon_days), channels, segments, cur)
    if stored is not None:
        return stored
    return _fit(store, horizon_days, end_of_data, channels, segments, cur)


def _end_of_data(store: Store, cur) -> datetime:
    """Midnight after the dataset's last day: training cutoffs count back from it, current customers are scored
    as of it."""
    from engagement.retention.clv import observation_window

    first_day, observation_end = observation_window(store, cur)
    if first_day is None:
        raise ValueError("There are no purchases to train a churn model on.")
    return datetime.combine(observation_end + timedelta(days=1), datetime.min.time())


def _fit(store: Store, horizon_days: int, end_of_data: datetime, channels, segments, cursor) -> ChurnModelResult:
    cutoff = end_of_data - timedelta(days=horizon_days)
    frame = _training_features(store, cutoff, horizon_days, channels, segments, cursor)
    if len(frame) < 50 or frame["is_churned"].nunique() < 2:
        raise ValueError(
            f"Too little history to train a churn model with a {horizon_days}-day horizon "
            f"({len(frame)} customers bought before {cutoff:%Y-%m-%d}); try a shorter horizon."
        )
    import sklearn.ensemble  # noqa: F401  (loaded first, so that the thread limit below reaches its OpenMP)
    from threadpoolctl import threadpool_limits

    # One OpenMP thread: on a shared 2-core box extra threads spin against each other (measured on the
    # 5,000-customer demo: 5 s with one thread, 80 s with the default; at 1M customers predictions on
    # a few thousand rows took ~1 s each instead of milliseconds). Two threads measured again at 1M with the
    # machine's load average near 3 (5 alternating runs): scoring 862,826 customers took 1.05-4.0 s (median
    # 2.2 s) against 1.6-2.7 s (median 1.8 s) with one, and the fit 0.8-5.2 s against 0.4-0.6 s. Scoring
    # uses both cores through Python threads instead (_predicted_risk).
    with threadpool_limits(limits=1):
        return _train_and_score(store, frame, cutoff, end_of_data, horizon_days, channels, segments, cursor)


def _train_and_score(store, frame, cutoff, end_of_data, horizon_days, channels, segments, cursor) -> ChurnModelResult:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import brier_score_loss, roc_auc_score

    rng = np.random.default_rng(RANDOM_STATE)
    is_holdout = rng.random(len(frame)) < HOLDOUT_SHARE
    train, holdout = frame[~is_holdout], frame[is_holdout]
    for part, rows in (("training set", train), ("holdout", holdout)):
        if rows["is_churned"].nunique() < 2:  # no model to fit, or an AUC that is not defined (0 of 0 pairs)
            only = "churned" if len(rows) and rows["is_churned"].iloc[0] else "retained"
            raise ValueError(
                f"Too little history to train a churn model with a {horizon_days}-day horizon: its {part} of "
                f"{len(rows)} customers (who bought before {cutoff:%Y-%m-%d}) are all {only}; try a shorter horizon."
            )
    if len(train) > MAX_TRAINING_ROWS:
        train = train.groupby("is_churned", group_keys=False).sample(
            frac=MAX_TRAINING_ROWS / len(train), random_state=RANDOM_STATE)
    model = HistGradientBoostingClassifier(**MODEL_PARAMETERS, random_state=RANDOM_STATE)
    # Plain arrays, not frames: the same model, without pandas' per-call overhead in the 55 importance scorings.
    model.fit(_feature_matrix(train), train["is_churned"].to_numpy())

    observed = holdout["is_churned"].to_numpy()
    predicted = _predicted_risk(model, _feature_matrix(holdout))
    auc = float(roc_auc_score(observed, predicted))
    positives = int(observed.sum())
    importance_rows = holdout.sample(min(len(holdout), IMPORTANCE_ROWS), random_state=RANDOM_STATE)
    auc_drop, auc_drop_sd = permutation_importance(
        model, _feature_matrix(importance_rows), importance_rows["is_churned"].to_numpy())
    feature_importance = pd.DataFrame({"feature": FEATURES, "auc_drop": auc_drop, "auc_drop_sd": auc_drop_sd}) \
        .sort_values("auc_drop", ascending=False, ignore_index=True)

    risk_bands, at_risk_customers = _score_current(
        store, model, _current_request(store, end_of_data, horizon_days, channels, segments, cursor), cursor)
    return ChurnModelResult(
        horizon_days=horizon_days, cutoff=cutoff.date(), training_customers=len(train),
        holdout_customers=len(holdout), holdout_churned=positives, auc=auc,
        auc_ci_low=hanley_mcneil_interval(auc, positives, len(holdout) - positives)[0],
        auc_ci_high=hanley_mcneil_interval(auc, positives, len(holdout) - positives)[1],
        brier_score=float(brier_score_loss(observed, predicted)), base_rate=positives / len(holdout),
        calibration=calibration_table(predicted, observed), feature_importance=feature_importance,
        risk_bands=risk_bands, at_risk_customers=at_risk_customers,
    )


def _score_current(store, model, request, cursor) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every customer of ``request`` (:func:`_current_request`): the risk bands and the at-risk list.

    On DuckDB the features come to Python and are predicted here. On Spark (warehouse mode) they stay there:
    the model runs on the executors through ``mapInPandas`` and only the bands and the list come back
    (``churn_scoring.py``), with the same scores.
    """
    name, params, inputs = request
    if store.engine_name == "spark":
        from engagement.retention.churn_scoring import spark_risk_summaries, spark_scores

        record = QueryRecord(name, dict(params), tuple(inputs))
        store.remember_query(record)
        features = store.engine.dataframe(record.statement(), record.all_params())
        return spark_risk_summaries(spark_scores(features, model, FEATURES), AT_RISK_LIST_SIZE)
    current = store.query_arrow(name, params, cursor=cursor, inputs=inputs)
    risk = _predicted_risk(model, current)
    revenue = current["revenue"].to_numpy()
    return _risk_bands(risk, revenue), _at_risk_customers(current, risk, revenue)


def _at_risk_customers(current, risk: np.ndarray, revenue: np.ndarray) -> pd.DataFrame:
    """Customers with risk >= 0.5, highest lifetime revenue first (then by id), the first ``AT_RISK_LIST_SIZE``.

    Only the customers whose revenue reaches the list's lowest (ties included) are taken from ``current`` (an
    Arrow table) and sorted: sorting every at-risk customer by revenue and id took 0.5 s at 1M customers, most
    of it ordering the ids.
    """
    rows = np.flatnonzero(risk >= 0.5)
    if len(rows) > AT_RISK_LIST_SIZE:
        lowest_listed = np.partition(revenue[rows], -AT_RISK_LIST_SIZE)[-AT_RISK_LIST_SIZE]
        rows = rows[revenue[rows] >= lowest_listed]
    listed = current.take(rows).select(
        ["customer_id", "recency_days", "orders", "revenue", "email_clicks_90d", "messages_90d"]).to_pandas()
    listed.insert(1, "churn_risk", risk[rows])
    return (listed.sort_values(["revenue", "customer_id"], ascending=[False, True]).head(AT_RISK_LIST_SIZE)
            .reset_index(drop=True))


def permutation_importance(model, features: np.ndarray, observed: np.ndarray,
                           repeats: int = IMPORTANCE_REPEATS) -> tuple[np.ndarray, np.ndarray]:
    """Drop in AUC when one feature's values are shuffled among the rows: mean and SD over ``repeats`` shuffles.

    scikit-learn's ``permutation_importance(model, features, observed, scoring="roc_auc", n_repeats=repeats,
    random_state=RANDOM_STATE)`` with the same shuffles (its seeding: one seed drawn from ``RANDOM_STATE``, each
    feature's shuffles drawn from it afresh, each shuffling the last), but every shuffled copy is scored in one
    prediction over both cores and the AUC by ranks: 55 separate scorings cost more in per-call checks than in
    the trees (at 1M customers 0.2 s against 0.1 s).
    """
    rows, columns = features.shape
    seed = np.random.RandomState(RANDOM_STATE).randint(np.iinfo(np.int32).max + 1)
    shuffled = np.repeat(features[np.newaxis], columns * repeats, axis=0)
    for column in range(columns):
        state, order, values = np.random.RandomState(seed), np.arange(rows), features[:, column]
        for repeat in range(repeats):
            state.shuffle(order)
            values = values[order]
            shuffled[column * repeats + repeat, :, column] = values
    risk = _predicted_risk(model, shuffled.reshape(-1, columns)).reshape(columns, repeats, rows)
    baseline = rank_auc(observed, _predicted_risk(model, features))
    drops = baseline - np.array([[rank_auc(observed, copy) for copy in by_feature] for by_feature in risk])
    return drops.mean(axis=1), drops.std(axis=1)


def _feature_matrix(rows) -> np.ndarray:
    """The model's inputs from a frame or an Arrow table, as the float64 array scikit-learn converts a frame to
    (an array is taken as it is)."""
    if isinstance(rows, np.ndarray):
        return rows
    return np.column_stack([np.asarray(rows[name], dtype=np.float64) for name in FEATURES])


def _predicted_risk(model, rows) -> np.ndarray:
    """P(churn) of every row of ``rows`` (the features as an array, or an Arrow table holding them), predicted in
    blocks of ``PREDICTION_BLOCK_ROWS`` by ``PREDICTION_THREADS`` Python threads, each building its block's array.

    Each row's prediction depends on that row only, so the result is the same as one call's to the last bit.
    Each thread predicts with one OpenMP thread, so no OpenMP team spins waiting for a core that another process
    holds. At 1M customers, scoring 862,826 with 40 trees took a median 0.77 s this way (in two halves) against
    1.06 s with one thread and 1.37 s with two OpenMP threads (load average 3.3, 7 alternating runs); on a quiet
    machine 0.56 s, 1.04 s and 0.59 s. Blocks of 50,000 rows (7 MB of features, which stay in the cache while
    every tree reads them) took 0.43 s of CPU with 20 trees against 0.60 s for halves, and 0.45 s for 10,000.
    """
    from concurrent.futures import ThreadPoolExecutor

    blocks = [rows[start:start + PREDICTION_BLOCK_ROWS] for start in range(0, len(rows), PREDICTION_BLOCK_ROWS)]
    with ThreadPoolExecutor(PREDICTION_THREADS, initializer=_one_openmp_thread) as pool:
        return np.concatenate(list(pool.map(lambda block: model.predict_proba(_feature_matrix(block))[:, 1], blocks)))


def _one_openmp_thread() -> None:
    """Start of a prediction thread: its OpenMP regions run on one thread. OpenMP's thread count is a setting of
    each calling thread, so this leaves other threads as they are; it ends with the thread."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="openmp")


def _risk_bands(risk: np.ndarray, revenue: np.ndarray) -> pd.DataFrame:
    band = np.minimum((risk * 10).astype(int), 9)
    frame = pd.DataFrame({"band": band, "customers": 1, "lifetime_revenue": revenue})
    bands = frame.groupby("band", as_index=False).sum()
    bands["risk_from"] = bands["band"] / 10
    bands["risk_to"] = (bands["band"] + 1) / 10
    return bands.drop(columns=["band"])


# ---------------------------------------------------------------- fitted at load time
# Derived tables holding the model fitted when data is loaded, with the stored features' settings (the page's
# default): one row of settings and holdout quality, and one table per frame of the result (field it fills).
STORED_MODEL = "churn_default_model"
STORED_MODEL_FRAMES = {
    "churn_default_calibration": "calibration",
    "churn_default_importance": "feature_importance",
    "churn_default_risk_bands": "risk_bands",
    "churn_default_at_risk": "at_risk_customers",
}
STORED_MODEL_TABLES = (STORED_MODEL, *STORED_MODEL_FRAMES)
_QUALITY_FIELDS = ("training_customers", "holdout_customers", "holdout_churned", "auc", "auc_ci_low", "auc_ci_high",
                   "brier_score", "base_rate")


def model_settings() -> str:
    """Everything besides the data that decides the fitted model and its result, as JSON text. A stored result
    is used only when it was fitted with these settings, and they are part of the derived tables' fingerprint,
    so a change here (or another scikit-learn) refits at the next writable open."""
    return json.dumps({
        "features": FEATURES, "random_state": RANDOM_STATE, "holdout_share": HOLDOUT_SHARE,
        "training_sample_customers": churn_sample_customers(), "max_training_rows": MAX_TRAINING_ROWS,
        "model": MODEL_PARAMETERS, "importance_rows": IMPORTANCE_ROWS, "importance_repeats": IMPORTANCE_REPEATS,
        "at_risk_list_size": AT_RISK_LIST_SIZE, "scikit_learn": version("scikit-learn"),
        "training_sample": "md5(customer_id)",  # the portable hash that draws the training sample
    }, sort_keys=True)


def store_default_churn_model(store: Store, cur) -> None:
    """Fit the model with the stored features' settings and store its result (or why it could not be fitted).

    ``Store._refresh_derived`` calls this in the load's transaction, after the stored features are rebuilt.
    ``fit_seconds`` in ``churn_default_model`` is what the fit added to the load.
    """
    settings = store.stored_view_params(STORED_FEATURES[0], cur)
    channels, segments = tuple(settings["channels"]), tuple(settings["segments"])
    started = time.perf_counter()
    result, problem, horizon_days, cutoff = None, None, None, None
    try:
        end_of_data = _end_of_data(store, cur)  # raises when there are no purchases (the features are empty)
        horizon_days = (settings["label_end"] - settings["cutoff"]).days
        cutoff = (end_of_data - timedelta(days=horizon_days)).date()
        result = _fit(store, horizon_days, end_of_data, channels, segments, cur)
    except ValueError as reason:  # too little history: the default request raises the same error from the row
        problem = str(reason)
    except Exception as reason:  # a modelling failure must not block loading data: the page shows it instead
        if isinstance(reason, duckdb.Error):
            raise  # the load's transaction is aborted: the load fails and is rolled back
        problem = f"The churn model could not be fitted when the data was loaded ({type(reason).__name__}: {reason})."
    row = {"horizon_days": horizon_days, "cutoff": cutoff, "channels": list(channels), "segments": list(segments),
           "model_settings": model_settings(), "problem": problem,
           **{name: getattr(result, name, None) for name in _QUALITY_FIELDS},
           "fit_seconds": time.perf_counter() - started}
    cur.execute(f"CREATE OR REPLACE TABLE {STORED_MODEL} AS " + read_sql(f"derived/{STORED_MODEL}"), row)
    for table, field in STORED_MODEL_FRAMES.items():
        if result is None:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
            continue
        frame = getattr(result, field)
        cur.register("churn_result_frame", frame.assign(position=np.arange(len(frame))))
        try:
            cur.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM churn_result_frame")
        finally:
            cur.unregister("churn_result_frame")


def _stored_result(store: Store, horizon_days: int, cutoff: datetime, channels, segments,
                   cur) -> ChurnModelResult | None:
    """The result fitted at load time when it was fitted with exactly these settings, else None."""
    if not store.has_table(STORED_MODEL, cur):
        return None  # a database built by an older version, opened read-only
    read = cur.execute(read_sql(f"churn/stored_{STORED_MODEL}"))
    names = [column[0] for column in read.description]
    row = dict(zip(names, read.fetchall()[0]))
    asked = (horizon_days, cutoff.date(), list(channels), list(segments), model_settings())
    if tuple(row[name] for name in ("horizon_days", "cutoff", "channels", "segments", "model_settings")) != asked:
        return None
    store.remember_query(QueryRecord(f"churn/stored_{STORED_MODEL}"))
    if row["problem"] is not None:
        raise ValueError(row["problem"])
    frames = {field: store.query(f"churn/stored_{table}", cursor=cur) for table, field in STORED_MODEL_FRAMES.items()}
    return ChurnModelResult(horizon_days=horizon_days, cutoff=row["cutoff"],
                            **{name: row[name] for name in _QUALITY_FIELDS}, **frames)
