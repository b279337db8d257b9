"""Tables that rename columns keep the house formats (``ui.table(labels=...)``): the RFM segments showed
"12%" beside "13.72%" (Streamlit's "percent" preset drops trailing zeros) and customer counts without separators
("1143"), while every other table shows shares to one decimal and counts as "1,143"."""

from __future__ import annotations

import json

import pytest

from conftest import open_app_page


def _columns(element) -> dict:
    """The Streamlit column configuration a dataframe element was drawn with: column name -> its settings."""
    return json.loads(element.proto.columns)


def _table_with(at, column: str):
    return next(d for d in at.dataframe if column in d.value.columns)


def test_a_label_keeps_the_registry_format():
    import pandas as pd

    from engagement.ui.output import table_config

    frame = pd.DataFrame({"customers": [1143], "customer_share": [0.12], "label": ["Loyal"]})
    shown, config = table_config(frame, labels={"customer_share": "Customers %", "label": "Segment"})
    assert config["customer_share"]["label"] == "Customers %"
    assert config["customer_share"]["type_config"]["format"] == "%.1f%%"
    assert shown["customer_share"].iloc[0] == pytest.approx(12.0)  # shown in %: "12.0%"
    assert config["customers"]["type_config"]["format"] == "%,d" and config["label"]["label"] == "Segment"


@pytest.mark.parametrize("page, params, share_columns", [
    ("pages/rfm_clv.py", {"rfm_clv_section": "RFM segments"}, ("customer_share", "revenue_share")),
    ("pages/engagement.py", {}, ("customer_share", "share_of_points")),
])
def test_pages_show_shares_to_one_decimal_and_counts_with_separators(app_env, page, params, share_columns):
    at = open_app_page(page, params)
    element = _table_with(at, share_columns[0])
    columns, shown = _columns(element), element.value
    for column in share_columns:
        assert columns[column]["type_config"]["format"] == "%.1f%%", columns[column]
        assert shown[column].max() > 1  # in %, as the format says
    assert columns["customers"]["type_config"]["format"] == "%,d", columns["customers"]


def test_cohort_sizes_have_thousands_separators(app_env):
    at = open_app_page("pages/cohorts.py")
    columns = _columns(_table_with(at, "cohort_customers"))
    assert columns["cohort_customers"]["type_config"]["format"] == "%,d"  # "1,143", not "1143"
