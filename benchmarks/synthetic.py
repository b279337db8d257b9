"""The synthetic customers and orders files of issue 20's benchmarks (`incremental_benchmark`, `intake_statements`):
one fixed seed and one SQL, so that every script measures the same files."""

from __future__ import annotations

from pathlib import Path

import duckdb


def write_customers_and_orders(con: duckdb.DuckDBPyConnection, customers_csv: Path, orders_csv: Path, rows: int,
                               customers: int) -> None:
    """Seed ``con``'s random numbers and write both files; the caller may go on drawing from the same sequence."""
    con.execute("SELECT setseed(0.42)").fetchall()
    con.execute(f"""
        COPY (SELECT 'c' || i AS customer_id, TIMESTAMP '2023-01-01' + to_seconds(CAST(random() * 3.0e7 AS BIGINT))
                     AS created_at,
                     ['paid_social', 'organic_search', 'referral', 'email'][1 + CAST(floor(random() * 4) AS INT)]
                       AS acquisition_channel, 'US' AS country
              FROM range({customers}) t(i)) TO '{customers_csv}' (HEADER)""").fetchall()
    con.execute(f"""
        COPY (SELECT '#' || (100000 + i) AS order_id, 'c' || CAST(floor(random() * {customers}) AS BIGINT) AS customer_id,
                     TIMESTAMP '2024-01-01' + to_seconds(CAST(random() * 5.0e7 AS BIGINT)) AS ordered_at,
                     round(5 + random() * 200, 2) AS net_revenue, round(random() * 10, 2) AS discount, 'USD' AS currency,
                     ['web', 'mobile_app', 'pos'][1 + CAST(floor(random() * 3) AS INT)] AS channel,
                     ['paid', 'fulfilled', 'paid', 'refunded'][1 + CAST(floor(random() * 4) AS INT)] AS status
              FROM range({rows}) t(i)) TO '{orders_csv}' (HEADER)""").fetchall()
