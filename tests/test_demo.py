"""The demo brand (engagement/intake/demo.py): its shape, and the truths it plants for the app to find.

One 20,000-customer dataset (seed 42) is generated per module. Each truth test states the
definition it measures; the thresholds are the ones the generator was specified with, not values
copied from its output. Statistical tests are written out by hand (two-proportion z-test,
Pearson chi-square via scipy).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from engagement.intake.demo import DEMO_END, DEMO_EXPERIMENT_WINDOWS, DEMO_EXPERIMENTS, DEMO_START, generate_demo
from engagement.warehouse.schema import EVENT_TYPES, KINDS, NON_PURCHASE_STATUSES, ORDER_STATUSES, TABLES

CUSTOMERS = 20_000
END = pd.Timestamp(DEMO_END)
DAY = pd.Timedelta(days=1)
TIME_COLUMNS = {"customers": "created_at", "orders": "ordered_at", "events": "occurred_at",
                "messages": "sent_at", "surveys": "responded_at", "experiment_assignments": "assigned_at"}


@pytest.fixture(scope="module")
def demo() -> dict[str, pd.DataFrame]:
    return generate_demo(customers=CUSTOMERS, seed=42)


@pytest.fixture(scope="module")
def small() -> dict[str, pd.DataFrame]:
    return generate_demo(customers=2_000, seed=7)


@pytest.fixture(scope="module")
def purchases(demo) -> pd.DataFrame:
    """Orders that are purchases: status not refunded or cancelled."""
    orders = demo["orders"]
    return orders[~orders["status"].isin(NON_PURCHASE_STATUSES)]


@pytest.fixture(scope="module")
def buyers(purchases) -> pd.DataFrame:
    """One row per customer with at least one purchase: count, revenue, last purchase, longest gap."""
    ordered = purchases.sort_values(["customer_id", "ordered_at"])
    ordered = ordered.assign(gap_days=ordered.groupby("customer_id")["ordered_at"].diff() / DAY)
    return ordered.groupby("customer_id").agg(
        purchases=("order_id", "size"), revenue=("net_revenue", "sum"),
        last_at=("ordered_at", "max"), longest_gap_days=("gap_days", "max"),
    )


# --- shape -------------------------------------------------------------------------------------


def test_every_kind_has_exactly_the_schema_columns_in_order(demo):
    """Structure: the seven kinds of schema.KINDS, each with its table's columns, in order, no load_id."""
    assert list(demo) == list(KINDS)
    for kind, frame in demo.items():
        assert list(frame.columns) == TABLES[kind].column_names, kind


def test_keys_are_unique(demo):
    """Structure: every TableSpec.key identifies one row."""
    for kind, frame in demo.items():
        key = list(TABLES[kind].key)
        assert not frame.duplicated(key).any(), kind
        assert frame[key].notna().all().all(), kind


def test_column_types(demo):
    """Structure: ids are strings, times naive datetimes, money floats with 2 decimals, flags bool."""
    customers, orders = demo["customers"], demo["orders"]
    assert customers["customer_id"].str.fullmatch(r"C\d{6}").all()
    assert orders["order_id"].str.fullmatch(r"#\d{6,}").all()
    assert demo["events"]["event_id"].map(type).eq(str).all()
    for kind, column in TIME_COLUMNS.items():
        assert pd.api.types.is_datetime64_dtype(demo[kind][column]), kind  # naive: no time zone
    for frame, column in ((orders, "net_revenue"), (orders, "discount"), (demo["program_costs"], "cost")):
        assert frame[column].dtype == np.float64
        assert np.allclose(frame[column], frame[column].round(2))
    assert customers["is_loyalty_member"].dtype == bool and customers["accepts_marketing"].dtype == bool
    assert pd.api.types.is_integer_dtype(demo["surveys"]["score"])
    period = demo["program_costs"]["period"]
    assert pd.api.types.is_datetime64_dtype(period) and (period == period.dt.to_period("M").dt.start_time).all()


def test_orders_look_like_a_store_export(demo, purchases):
    """Orders: USD only; about 3 % refunded, 1.5 % cancelled, a little partially refunded, the rest paid
    or fulfilled; average purchase value near $60."""
    orders = demo["orders"]
    assert set(orders["currency"]) == {"USD"}
    assert set(orders["status"]) <= set(ORDER_STATUSES)
    share = orders["status"].value_counts(normalize=True)
    assert 0.02 < share["refunded"] < 0.04
    assert 0.008 < share["cancelled"] < 0.022
    assert 0 < share["partially_refunded"] < 0.03
    assert share["paid"] + share["fulfilled"] > 0.9
    assert 50 < purchases["net_revenue"].mean() < 70
    assert (orders["discount"] >= 0).all() and (orders["net_revenue"] >= 0).all()


def test_volumes(demo):
    """Size at 20k customers: 70-120k orders, about 10 % prospects without orders, 10-20 events each."""
    assert 70_000 <= len(demo["orders"]) <= 120_000
    without_orders = 1 - demo["orders"]["customer_id"].nunique() / CUSTOMERS
    assert 0.05 < without_orders < 0.15
    assert 10 <= len(demo["events"]) / CUSTOMERS <= 20


def test_times_stay_inside_the_24_months(demo):
    """Time: nothing before DEMO_START and no timestamp after DEMO_END."""
    for kind, column in TIME_COLUMNS.items():
        assert demo[kind][column].max() <= END, kind
        assert demo[kind][column].min() >= pd.Timestamp(DEMO_START), kind


def test_foreign_keys_resolve_and_nothing_precedes_the_customer(demo):
    """Integrity: every customer_id exists in customers, and nothing happens before its created_at."""
    created = demo["customers"].set_index("customer_id")["created_at"]
    for kind, column in TIME_COLUMNS.items():
        if kind == "customers":
            continue
        frame = demo[kind]
        assert frame["customer_id"].isin(created.index).all(), kind
        assert (frame[column].to_numpy() >= created.loc[frame["customer_id"]].to_numpy()).all(), kind


def test_same_seed_same_frames(small):
    """Determinism: one seed always gives the same frames; another seed gives different ones."""
    again = generate_demo(customers=2_000, seed=7)
    for kind in KINDS:
        pd.testing.assert_frame_equal(small[kind], again[kind])
    assert not generate_demo(customers=2_000, seed=8)["orders"].equals(small["orders"])


# --- planted truths ----------------------------------------------------------------------------


def test_truth_1_repeat_purchase_rate_near_28_percent(buyers):
    """Truth 1: of customers with >= 1 purchase (status not refunded/cancelled), 24-32 % have >= 2."""
    assert 0.24 <= (buyers["purchases"] >= 2).mean() <= 0.32


def test_truth_2_loyalty_members_rarely_buy_now(demo, purchases):
    """Truth 2: most customers are members (bronze/silver/gold), but only 1-8 % of members made a
    purchase in the 90 days before DEMO_END."""
    customers = demo["customers"]
    members = customers[customers["is_loyalty_member"]]
    assert customers["is_loyalty_member"].mean() > 0.4
    assert set(members["loyalty_tier"]) == {"bronze", "silver", "gold"}
    assert customers.loc[~customers["is_loyalty_member"], "loyalty_tier"].isna().all()
    recent = purchases.loc[purchases["ordered_at"] > END - 90 * DAY, "customer_id"]
    assert 0.01 <= members["customer_id"].isin(recent).mean() <= 0.08


def test_truth_3_november_and_december_peak(demo):
    """Truth 3: orders per month in Nov and Dec average at least 1.3x the average of the other months."""
    per_month = demo["orders"].groupby(demo["orders"]["ordered_at"].dt.to_period("M")).size()
    assert len(per_month) == 24
    holiday = per_month.index.month.isin([11, 12])
    assert per_month[holiday].mean() >= 1.3 * per_month[~holiday].mean()


def test_truth_4_every_lifecycle_stage_has_customers(buyers):
    """Truth 4: as of DEMO_END, each stage holds at least 1 % of buyers. new: 1 purchase in the last
    90 days; repeat: >= 2 purchases, the last in 90 days; VIP: lifetime revenue >= $1,000; at-risk:
    last purchase 90-365 days ago; lapsed: none for over a year; won back: bought again after a gap
    of more than 180 days."""
    days_since = (END - buyers["last_at"]) / DAY
    stages = {
        "new": (buyers["purchases"] == 1) & (days_since <= 90),
        "repeat": (buyers["purchases"] >= 2) & (days_since <= 90),
        "vip": buyers["revenue"] >= 1_000,
        "at_risk": (days_since > 90) & (days_since <= 365),
        "lapsed": days_since > 365,
        "won_back": buyers["longest_gap_days"] > 180,
    }
    shares = {stage: mask.mean() for stage, mask in stages.items()}
    assert min(shares.values()) >= 0.01, shares


def test_truth_5_nps_promoters_repurchase_more_than_detractors(demo, purchases):
    """Truth 5: of NPS answers given at least 180 days before DEMO_END, the share followed by a purchase
    within 180 days is at least 5 points higher for promoters (9-10) than for detractors (0-6)."""
    cutoff = END - 180 * DAY
    nps = demo["surveys"].query("kind == 'nps' and responded_at <= @cutoff")
    nps = nps[["response_id", "customer_id", "responded_at", "score"]]
    pairs = nps.merge(purchases[["customer_id", "ordered_at"]], on="customer_id")
    later = (pairs["ordered_at"] > pairs["responded_at"]) & (pairs["ordered_at"] <= pairs["responded_at"] + 180 * DAY)
    repurchased = nps["response_id"].isin(pairs.loc[later, "response_id"])
    promoters, detractors = repurchased[nps["score"] >= 9].mean(), repurchased[nps["score"] <= 6].mean()
    assert promoters - detractors >= 0.05


def test_truth_5_survey_scales_touchpoints_and_overall_nps(demo, purchases):
    """Truth 5: NPS 0-10 mostly post-purchase after ~15 % of purchases, a few days after the order;
    CSAT 1-5 at support/delivery; overall NPS (% promoters - % detractors) between +20 and +45."""
    surveys = demo["surveys"]
    nps, csat = surveys[surveys["kind"] == "nps"], surveys[surveys["kind"] == "csat"]
    assert set(surveys["kind"]) == {"nps", "csat"}
    assert nps["score"].between(0, 10).all() and csat["score"].between(1, 5).all()
    assert (nps["touchpoint"] == "post_purchase").mean() > 0.8
    assert set(csat["touchpoint"]) == {"support", "delivery"}
    assert 0.12 < len(nps) / len(purchases) < 0.18
    previous = pd.merge_asof(nps.sort_values("responded_at"), purchases.sort_values("ordered_at"),
                             left_on="responded_at", right_on="ordered_at", by="customer_id")
    assert ((previous["responded_at"] - previous["ordered_at"]) / DAY).median() < 7
    score = 100 * ((nps["score"] >= 9).mean() - (nps["score"] <= 6).mean())
    assert 20 <= score <= 45


def test_truth_5_comments_follow_the_score(demo):
    """Truth 5: about 40 % of answers carry a comment; detractor comments are about shipping, packaging,
    price, support or quality, promoter comments about taste, delivery, subscription or support, with
    varied wording."""
    surveys = demo["surveys"]
    assert 0.3 < surveys["comment"].notna().mean() < 0.5
    nps = surveys[(surveys["kind"] == "nps") & surveys["comment"].notna()]
    complaint = re.compile(r"\b(?:slow|late|weeks|forever|torn|damaged|crushed|ripped|expensive|pricey|prices?|"
                           r"support|stale|bitter|burnt|inconsistent|off)\b", re.IGNORECASE)
    praise = re.compile(r"\b(?:great|love|amazing|delicious|fast|quick|quickly|earlier|convenient|easy|happy|"
                        r"friendly|lovely)\b", re.IGNORECASE)
    detractor_comments = nps.loc[nps["score"] <= 6, "comment"]
    promoter_comments = nps.loc[nps["score"] >= 9, "comment"]
    assert detractor_comments.str.contains(complaint).all()
    assert not detractor_comments.str.contains(praise).any()
    assert promoter_comments.str.contains(praise).all()
    assert surveys["comment"].nunique() >= 100


def test_truth_6_clickers_spend_more(demo, purchases):
    """Truth 6: customers in the top quartile of email_click + sms_click counts (ranked, ties broken by
    customer id) have at least 1.5x the purchase revenue per customer of the bottom half."""
    events = demo["events"]
    ids = demo["customers"]["customer_id"]
    clicks = events[events["event_type"].isin(["email_click", "sms_click"])].groupby("customer_id").size()
    clicks = clicks.reindex(ids, fill_value=0).sort_index().sort_values(ascending=False, kind="stable")
    revenue = purchases.groupby("customer_id")["net_revenue"].sum().reindex(ids, fill_value=0.0)
    top, bottom = clicks.index[: CUSTOMERS // 4], clicks.index[CUSTOMERS // 2:]
    assert revenue[top].mean() >= 1.5 * revenue[bottom].mean()


def test_truth_6_events_have_types_channels_and_campaigns(demo):
    """Truth 6: all engagement event types occur; opens far outnumber clicks; campaign events carry a
    campaign_id whose send exists in messages; other events carry none."""
    events = demo["events"]
    counts = events["event_type"].value_counts()
    assert set(counts.index) <= set(EVENT_TYPES)
    assert {"site_visit", "product_view", "add_to_cart", "email_click", "sms_click", "review", "referral",
            "community_post", "support_ticket", "email_open"} <= set(counts.index)
    assert counts["email_open"] >= 3 * counts["email_click"]
    assert set(events["channel"]) <= {"web", "email", "sms", "app", "community"}
    from_campaign = events["event_type"].isin(["email_open", "email_click", "sms_click", "sms_delivered"])
    assert events.loc[from_campaign, "campaign_id"].notna().all()
    assert events.loc[~from_campaign, "campaign_id"].isna().all()
    sends = demo["messages"].set_index(["campaign_id", "customer_id"]).index
    assert events.loc[from_campaign].set_index(["campaign_id", "customer_id"]).index.isin(sends).all()


def test_sms_sends_are_delivered_before_they_are_clicked(demo):
    """Issue 19: the demo's SMS campaigns produce ``sms_delivered`` events (the Engagement page showed a row of
    zeros). Specification: at most one delivery per SMS send, on the sms channel, 90-100 % of sends delivered
    (carriers bounce a few %), never before the send, within an hour of it, and every clicked SMS was delivered
    no later than its click."""
    events, messages = demo["events"], demo["messages"]
    delivered = events[events["event_type"] == "sms_delivered"]
    sms_sends = messages[messages["channel"] == "sms"]
    assert set(delivered["channel"]) == {"sms"}
    keys = ["campaign_id", "customer_id"]
    assert not delivered.duplicated(keys).any()
    assert 0.90 <= len(delivered) / len(sms_sends) <= 1.0
    sent = delivered.merge(sms_sends, on=keys, how="left", validate="one_to_one")
    assert sent["sent_at"].notna().all()
    lag = sent["occurred_at"] - sent["sent_at"]
    assert (lag >= pd.Timedelta(0)).all() and (lag <= pd.Timedelta(hours=1)).all()
    clicks = events[events["event_type"] == "sms_click"].merge(delivered, on=keys, how="left",
                                                                suffixes=("", "_delivered"))
    assert clicks["occurred_at_delivered"].notna().all()
    assert (clicks["occurred_at_delivered"] <= clicks["occurred_at"]).all()


def test_truth_7_campaigns_reach_consenting_existing_customers(demo):
    """Truth 7: about 2 e-mail and 1 SMS campaigns a month (ids like EM-2025-03-a), sent only to customers
    with accepts_marketing who existed at sent time; about 60 % of customers accept marketing."""
    messages, customers = demo["messages"], demo["customers"].set_index("customer_id")
    assert 0.5 < customers["accepts_marketing"].mean() < 0.7
    assert messages["campaign_id"].str.fullmatch(r"(EM|SMS)-\d{4}-\d{2}-[a-z]").all()
    assert (messages["campaign_id"].str.startswith("EM-") == (messages["channel"] == "email")).all()
    per_month = messages.groupby("channel")["campaign_id"].nunique() / 24
    assert 1.8 <= per_month["email"] <= 2.5 and 0.9 <= per_month["sms"] <= 1.5
    month_in_id = messages["campaign_id"].str.extract(r"-(\d{4}-\d{2})-")[0]
    assert (month_in_id == messages["sent_at"].dt.strftime("%Y-%m")).all()
    recipients = customers.loc[messages["customer_id"]]
    assert recipients["accepts_marketing"].all()
    assert (recipients["created_at"].to_numpy() <= messages["sent_at"].to_numpy()).all()


def _conversions(demo, experiment_id: str) -> pd.DataFrame:
    """Per variant: assigned customers and those with a non-cancelled order within 30 days after assigned_at."""
    assigned = demo["experiment_assignments"].query("experiment_id == @experiment_id")
    orders = demo["orders"].query("status != 'cancelled'")[["customer_id", "ordered_at"]]
    pairs = assigned.merge(orders, on="customer_id")
    inside = (pairs["ordered_at"] > pairs["assigned_at"]) & (pairs["ordered_at"] <= pairs["assigned_at"] + 30 * DAY)
    converted = assigned["customer_id"].isin(pairs.loc[inside, "customer_id"])
    return converted.groupby(assigned["variant"]).agg(n="size", converted="sum")


def _two_proportion_z(table: pd.DataFrame) -> tuple[float, float]:
    """Difference treatment - control and its two-sided p-value (pooled two-proportion z-test)."""
    n, x = table["n"], table["converted"]
    p_t, p_c = x["treatment"] / n["treatment"], x["control"] / n["control"]
    pooled = x.sum() / n.sum()
    z = (p_t - p_c) / np.sqrt(pooled * (1 - pooled) * (1 / n["treatment"] + 1 / n["control"]))
    return p_t - p_c, 2 * stats.norm.sf(abs(z))


def test_truth_8_experiment_assignments(demo):
    """Truth 8: three 50/50 experiments, several thousand customers each, assigned inside their window,
    only customers who existed before assignment."""
    assignments = demo["experiment_assignments"]
    assert set(assignments["experiment_id"]) == set(DEMO_EXPERIMENTS) == set(DEMO_EXPERIMENT_WINDOWS)
    assert set(assignments["variant"]) == {"control", "treatment"}
    for experiment_id, (start, end) in DEMO_EXPERIMENT_WINDOWS.items():
        rows = assignments[assignments["experiment_id"] == experiment_id]
        assert len(rows) >= 3_000, experiment_id
        assert rows["assigned_at"].between(pd.Timestamp(start), pd.Timestamp(end)).all(), experiment_id
        assert DEMO_EXPERIMENTS[experiment_id]["intended_split"] == {"control": 0.5, "treatment": 0.5}
    created = demo["customers"].set_index("customer_id")["created_at"]
    assert (created.loc[assignments["customer_id"]].to_numpy() < assignments["assigned_at"].to_numpy()).all()


def test_truth_8_recommendations_email_really_lifts_conversion(demo):
    """Truth 8 ("lift"): EXP-recs-email treatment converts more than control, two-proportion z p < 0.01."""
    difference, p_value = _two_proportion_z(_conversions(demo, "EXP-recs-email"))
    assert DEMO_EXPERIMENTS["EXP-recs-email"]["truth"] == "lift"
    assert difference > 0 and p_value < 0.01


def test_truth_8_subject_line_has_no_effect(demo):
    """Truth 8 ("null"): EXP-subject-line conversion differs by less than 3 points between the arms."""
    difference, _ = _two_proportion_z(_conversions(demo, "EXP-subject-line"))
    assert DEMO_EXPERIMENTS["EXP-subject-line"]["truth"] == "null"
    assert abs(difference) < 0.03


def test_truth_8_sms_winback_has_a_sample_ratio_mismatch(demo):
    """Truth 8 ("srm"): EXP-sms-winback arm sizes fail a chi-square test against the intended 50/50
    (p < 0.001); the two healthy experiments pass it (p > 0.001)."""
    sizes = demo["experiment_assignments"].groupby(["experiment_id", "variant"]).size().unstack()
    p_values = {exp: stats.chisquare(row[["control", "treatment"]].to_numpy()).pvalue for exp, row in sizes.iterrows()}
    assert DEMO_EXPERIMENTS["EXP-sms-winback"]["truth"] == "srm"
    assert p_values["EXP-sms-winback"] < 0.001 < min(p_values["EXP-recs-email"], p_values["EXP-subject-line"])
    assert sizes.loc["EXP-sms-winback", "control"] < sizes.loc["EXP-sms-winback", "treatment"]


def test_truth_9_program_costs_by_month_and_scale(demo, small):
    """Truth 9: monthly rows for email/email, sms/sms, loyalty/loyalty, community/community and
    personalization/email, positive costs, totals roughly proportional to the number of customers."""
    costs = demo["program_costs"]
    assert set(zip(costs["program"], costs["channel"])) == {
        ("email", "email"), ("sms", "sms"), ("loyalty", "loyalty"),
        ("community", "community"), ("personalization", "email"),
    }
    assert (costs["cost"] > 0).all()
    assert costs["period"].between(pd.Timestamp(DEMO_START), END).all()
    assert (costs.groupby("program").size()[["email", "sms", "loyalty"]] == 24).all()
    ratio = costs["cost"].sum() / small["program_costs"]["cost"].sum()  # 20,000 vs 2,000 customers
    assert 5 < ratio < 15
