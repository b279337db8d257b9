-- Grain: one row per cohort grain (week, month, quarter) per acquisition cohort per period since acquisition
-- per acquisition channel per first-order discount flag per default lifecycle stage.
-- Counts distinct active customers, purchases and revenue, so a cohort view is a small group-by over this
-- table whatever the filters. Period 0 holds every customer of the cohort (their first purchase is in it),
-- so the cohort size is the period-0 count.
with buyers as (
    select customer_id, first_order_at, acquisition_channel, is_first_order_discounted, lifecycle_stage
    from customer_summary
    where order_count > 0
),

customer_months as (
    -- One row per customer per calendar month with a purchase. Kept a CTE, not a table: nothing else reads it,
    -- and writing its 3M rows at 5M orders cost about 2 CPU s of the load (benchmarks/README.md).
    select customer_id, date_trunc('month', ordered_at)::date as activity_month, count(*) as orders,
           sum(net_revenue) as revenue
    from order_facts
    group by all
),

customer_periods as (
    -- Quarters nest months; only weeks need the purchases again.
    select 'month' as cohort_grain, customer_id, activity_month as period_start, orders as purchases, revenue
    from customer_months
    union all
    select 'quarter', customer_id, date_trunc('quarter', activity_month)::date, sum(orders), sum(revenue)
    from customer_months
    group by all
    union all
    select 'week', customer_id, date_trunc('week', ordered_at)::date, count(*), sum(net_revenue)
    from order_facts
    group by all
),

final as (
    select
        p.cohort_grain,
        date_trunc(p.cohort_grain, b.first_order_at)::date as cohort_start,
        date_diff(p.cohort_grain, date_trunc(p.cohort_grain, b.first_order_at)::date, p.period_start)
            as period_number,
        b.acquisition_channel,
        b.is_first_order_discounted,
        b.lifecycle_stage,
        count(*) as active_customers,
        sum(p.purchases) as purchases,
        sum(p.revenue)::decimal(38, 2) as revenue
    from customer_periods as p
    join buyers as b using (customer_id)
    group by all
)

select * from final
