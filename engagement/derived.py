"""The derived tables: which there are, in what order they are built, and how (``rebuild_derived``).

Every load or undo of a kind some derived table reads rebuilds them all in its transaction (``Store._load``,
``Store.undo``), then fits the page-default models on them; ``derived_build`` keeps a fingerprint of what built
them, so that a database built by another version is rebuilt when next opened for writing.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import duckdb

from engagement.sql import quote_identifier, read_sql

if TYPE_CHECKING:
    from engagement.store import Store

# Rebuilt in this order after every load or undo: each may read the ones before it.
DERIVED_TABLES = (
    "order_facts", "dataset_facts", "customer_summary", "customer_months", "purchases", "purchase_days",
    "purchase_states", "cohort_cells", "survey_answers", "rfm_default_window_customers", "clv_calibration_summary",
    "clv_history_summary", "churn_training_features", "churn_current_features", "message_send_days", "click_facts",
    "click_purchases", "email_open_days", "engagement_default_counts",
)
# After them, models fitted in Python on the stored inputs, with the RFM/CLV page's default settings, their results
# kept in derived tables too: the CLV models on the stored summaries (engagement/clv_default.py) and the churn
# model on the stored churn features (engagement/churn.py), each listing its tables as STORED_MODEL_TABLES.

# Derived tables that store a view query's result for the settings its page opens with. For these,
# ``derived/<name>.sql`` selects those settings (one row of the view query's bound parameters, read from
# ``dataset_facts`` only) and the table holds the view query (value here) run with them. A view reads
# the table when asked for exactly those parameters (``Store.stored_view_params``) and runs its
# query on demand otherwise, so both paths return the same rows.
STORED_VIEWS = {
    "rfm_default_window_customers": "rfm/window_customers",
    "clv_calibration_summary": "clv/customer_summary",
    "clv_history_summary": "clv/customer_summary",
    "churn_training_features": "clv/churn_features",
    "churn_current_features": "clv/churn_features",
    "engagement_default_counts": "engagement/customer_counts",
}

# Kinds no derived table reads (tests/test_store_derived.py checks the SQL): loading or undoing them leaves the
# derived tables as they are, so a programme-cost upload does not pay for a full rebuild. Experiment
# assignments are read: an assigned id is a customer (customer_summary's implied customers).
KINDS_NOT_DERIVED_FROM = frozenset({"program_costs", "experiments"})

# What built the derived tables: a fingerprint of their SQL. A database opened for writing by a version whose
# derived SQL differs (new tables or columns) rebuilds them once, so views never read an older shape.
DERIVED_BUILD_DDL = "CREATE TABLE IF NOT EXISTS derived_build (fingerprint VARCHAR NOT NULL)"


def derived_fingerprint() -> str:
    """sha256 of every SQL text the derived tables are built from, in build order, and of the settings of the
    models fitted with them (CLV, churn)."""
    from engagement import churn, clv_default

    texts = [f"{name}\n{read_sql(f'derived/{name}')}\n{read_sql(STORED_VIEWS[name]) if name in STORED_VIEWS else ''}"
             for name in DERIVED_TABLES]
    texts.append(f"rfm_default_scores\n{read_sql('rfm/customer_scores')}")
    for model in (clv_default, churn):
        texts.append(f"{model.STORED_MODEL_TABLES}\n{read_sql(f'derived/{model.STORED_MODEL}')}\n"
                     f"{model.model_settings()}")
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()


def stored_view_settings(cur: duckdb.DuckDBPyConnection, name: str) -> dict[str, Any]:
    """The one row of ``derived/<name>.sql`` as the parameters of ``STORED_VIEWS[name]``."""
    relation = cur.sql(read_sql(f"derived/{name}"))
    return dict(zip(relation.columns, relation.fetchall()[0]))


def rebuild_derived(store: Store, cur: duckdb.DuckDBPyConnection) -> None:
    """Build every derived table in order, then the models fitted on them, in ``cur``'s transaction, and record
    the fingerprint of what built them."""
    from engagement.churn import store_default_churn_model
    from engagement.clv_default import store_default_clv_model
    from engagement.rfm import store_default_scores

    for name in DERIVED_TABLES:
        if name in STORED_VIEWS:
            params = stored_view_settings(cur, name)
            cur.execute(f"CREATE OR REPLACE TABLE {quote_identifier(name)} AS " + read_sql(STORED_VIEWS[name]), params)
        else:
            cur.execute(f"CREATE OR REPLACE TABLE {quote_identifier(name)} AS " + read_sql(f"derived/{name}"))
    store_default_scores(cur)
    store_default_clv_model(store, cur)
    store_default_churn_model(store, cur)
    cur.execute(DERIVED_BUILD_DDL)
    cur.execute("DELETE FROM derived_build")
    cur.execute("INSERT INTO derived_build VALUES ($fingerprint)", {"fingerprint": derived_fingerprint()})
