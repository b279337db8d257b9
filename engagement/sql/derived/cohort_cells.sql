-- Grain: one row per cohort grain (week, month, quarter) per acquisition cohort per period since acquisition
-- per acquisition channel per first-order discount flag.
-- No lifecycle stage: a customer's stage today moves with "as of" and the brand's cuts, which a weekly file moves
-- for tens of thousands of customers who bought nothing; carried here, each of them had their whole history read
-- and their cells moved. A stage filter reads purchases instead (cohorts/retention_matrix.sql).
-- Counts distinct active customers, purchases and revenue, so a cohort view is a small group-by over this
-- table whatever the filters. Period 0 holds every customer of the cohort (their first purchase is in it),
-- so the cohort size is the period-0 count.
-- One pass over the purchases, no grouping per customer: a customer is active in a period once, counted on the
-- purchase that opens it (the customer's first purchase, whose previous_ordered_at is null or purchases'
-- '-infinity', or one whose previous purchase is in an earlier period; a customer's purchases are consecutive in
-- time, so exactly one purchase opens each period they bought in). Grouping by customer and period first (about
-- one group per purchase for weeks) cost about 1.5x the CPU (0.57 against 0.37 s at 1M orders,
-- benchmarks/README.md). Still additive per customer, as the incremental update's sums need
-- (engagement/derived/update.py).
-- Read from purchases (which carries the channel and first purchase time) joined to customer_summary by
-- the integer customer_key for the discount flag: a load's update reads its customers' rows by that key, where
-- order_facts could only be read by the text id (a semi-join decompressing every id of 4M rows).
with buyer_purchases as (
    select p.first_ordered_at as first_order_at, p.acquisition_channel, s.is_first_order_discounted,
           p.ordered_at, p.previous_ordered_at, p.net_revenue
    from purchases as p
    join customer_summary as s using (customer_key)
),

purchase_periods as (
    select
        'week' as cohort_grain,
        date_trunc('week', first_order_at)::date as cohort_start,
        date_diff('week', date_trunc('week', first_order_at)::date, date_trunc('week', ordered_at)::date)
            as period_number,
        previous_ordered_at is null or date_trunc('week', previous_ordered_at) <> date_trunc('week', ordered_at)
            as opens_period,
        acquisition_channel, is_first_order_discounted, net_revenue
    from buyer_purchases
    union all
    select
        'month',
        date_trunc('month', first_order_at)::date,
        date_diff('month', date_trunc('month', first_order_at)::date, date_trunc('month', ordered_at)::date),
        previous_ordered_at is null or date_trunc('month', previous_ordered_at) <> date_trunc('month', ordered_at),
        acquisition_channel, is_first_order_discounted, net_revenue
    from buyer_purchases
    union all
    select
        'quarter',
        date_trunc('quarter', first_order_at)::date,
        date_diff('quarter', date_trunc('quarter', first_order_at)::date, date_trunc('quarter', ordered_at)::date),
        previous_ordered_at is null
            or date_trunc('quarter', previous_ordered_at) <> date_trunc('quarter', ordered_at),
        acquisition_channel, is_first_order_discounted, net_revenue
    from buyer_purchases
),

final as (
    select
        cohort_grain,
        cohort_start,
        period_number,
        acquisition_channel,
        is_first_order_discounted,
        count(*) filter (where opens_period) as active_customers,
        sum(1) as purchases,  -- a sum, as when it added per-customer counts (DuckDB: HUGEINT)
        sum(net_revenue)::decimal(38, 2) as revenue
    from purchase_periods
    group by all
)

select * from final
