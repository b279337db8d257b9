-- Grain: one row for the whole dataset.
-- The "as of" moment every recency is measured from is the latest recorded activity, not the wall
-- clock, so that an export analysed next month gives the same answers as today. The default
-- at-risk cut adapts to the brand: the 80th percentile of its own days between purchases; the VIP cut is the
-- 90th percentile of its buyers' lifetime revenue. The default
-- window of the pages (kpis.default_filters): the 12 months up to the last day of any activity (orders,
-- events, surveys), or all of the
-- data when shorter; the stored views of the pages' defaults read it from here.
with activity as (
    select min(ordered_at) as first_activity_at, max(ordered_at) as activity_at from orders
    union all select min(occurred_at), max(occurred_at) from events
    union all select min(responded_at), max(responded_at) from surveys
),

gaps as (
    select quantile_cont(days_since_previous_order, 0.8) as p80_gap_days
    from order_facts
    where days_since_previous_order is not null
),

vip_cut as (
    -- in DOUBLE: over DECIMAL, DuckDB interpolates in DECIMAL(18,2) and cuts the third decimal (762.75 where the
    -- 90th percentile is 762.758, as Spark and pandas compute it)
    select quantile_cont(revenue::double, 0.9) as vip_revenue from customer_facts where order_count > 0
),

final as (
    select
        (select max(activity_at) from activity) as as_of,
        (select min(first_activity_at) from activity) as first_activity_at,
        (select min(ordered_at) from order_facts) as first_order_at,
        (select max(ordered_at) from order_facts) as last_order_at,
        greatest(30, round(coalesce(gaps.p80_gap_days, 90)))::integer as at_risk_days,
        greatest(180, 2 * round(coalesce(gaps.p80_gap_days, 90)))::integer as lapsed_days,
        vip_cut.vip_revenue
    from gaps
    cross join vip_cut
),

with_default_window as (
    select
        *,
        greatest(first_activity_at::date, (as_of::date - interval 1 year)::date + 1)::timestamp
            as default_window_start,
        (as_of::date + 1)::timestamp as default_window_end_exclusive
    from final
)

select * from with_default_window
