"""Scoring every current customer with the fitted churn model on Spark, where the features are (warehouse mode).

On DuckDB every customer's features come to Python as Arrow and ``churn.py`` predicts them in blocks. On Spark
they stay on the cluster: the fitted model is pickled into the function ``mapInPandas`` runs on each partition
(:func:`risk_function`), and only what the result shows comes back to the driver: customers and lifetime revenue
per tenth of risk, and the at-risk list (risk >= 0.5, the highest lifetime revenues). A brand with millions of
customers thus never ships their features to one process.

Each row's prediction depends on that row only, so the scores equal the DuckDB path's whatever the partitions and
Arrow batches (``tests/test_spark_parity.py`` compares them customer by customer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    import pyspark.sql

# The columns the at-risk list shows, in its order (churn_risk is inserted after customer_id).
LISTED = ("customer_id", "recency_days", "orders", "revenue", "email_clicks_90d", "messages_90d")
RISK = "churn_risk"


def risk_function(model, features: tuple[str, ...], listed: tuple[str, ...] = LISTED):
    """The function ``mapInPandas`` runs: each batch of feature rows in, ``listed`` columns and the churn risk out.

    A closure over the model and column names only (numpy, threadpoolctl and the model's own classes), so
    cloudpickle ships it by value: the executors need scikit-learn but not this package. One OpenMP thread per
    Python worker: Spark runs one worker per core, and more threads would spin against each other.
    """
    features, listed = tuple(features), tuple(listed)

    def score(batches):
        import numpy as np
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="openmp"):
            for batch in batches:
                out = batch[list(listed)].copy()
                if len(batch):
                    # The float64 matrix churn.py's _feature_matrix builds, so the trees see the same values.
                    matrix = np.column_stack([np.asarray(batch[name], dtype=np.float64) for name in features])
                    risk = model.predict_proba(matrix)[:, 1]
                else:
                    risk = np.empty(0, dtype=np.float64)
                out.insert(1, RISK, risk)
                yield out

    return score


def spark_scores(frame: "pyspark.sql.DataFrame", model, features: tuple[str, ...]) -> "pyspark.sql.DataFrame":
    """``frame``'s customers (churn/churn_features.sql's rows) with their churn risk, computed on the executors:
    the at-risk list's columns, ``churn_risk`` second."""
    from pyspark.sql.types import DoubleType, StructField, StructType

    fields = [frame.schema[name] for name in LISTED]
    schema = StructType([fields[0], StructField(RISK, DoubleType(), False), *fields[1:]])
    return frame.mapInPandas(risk_function(model, features), schema)


def spark_risk_summaries(scored: "pyspark.sql.DataFrame", list_size: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The risk bands and the at-risk list of scored customers, as ``churn.py`` computes them from its arrays:
    bands ``min(floor(10 risk), 9)`` with their customers and lifetime revenue (ascending), and the ``list_size``
    customers with risk >= 0.5 of highest revenue (ties by id). The scores are cached while both are read, so
    the model runs once per customer."""
    from pyspark.sql import functions as F

    scored = scored.cache()
    try:
        band = F.least(F.floor(F.col(RISK) * 10).cast("int"), F.lit(9)).alias("band")
        bands = (scored.groupBy(band)
                 .agg(F.count(F.lit(1)).alias("customers"), F.sum("revenue").alias("lifetime_revenue"))
                 .orderBy("band").toArrow().to_pandas())
        listed = (scored.where(F.col(RISK) >= 0.5)
                  .orderBy(F.col("revenue").desc(), F.col("customer_id").asc())
                  .limit(list_size).toArrow().to_pandas())
    finally:
        scored.unpersist()
    bands["band"] = bands["band"].astype("int64")
    bands["risk_from"] = bands["band"] / 10
    bands["risk_to"] = (bands["band"] + 1) / 10
    return bands.drop(columns=["band"]), listed
