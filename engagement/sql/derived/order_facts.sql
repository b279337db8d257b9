-- Grain: one row per purchase order of a known customer (refunded and cancelled orders are not purchases and
-- are left out; guest orders, without a customer id, count in purchase_days' totals only).
-- Numbers each customer's purchases in time order, measures the gap since the previous one and keeps the
-- neighbouring purchase times (windowed counts of buyers need them: see kpis/window_totals.sql) and the
-- customer's revenue so far (this purchase included: the lifecycle stages read it, through purchases). All four
-- window functions share one partition and order, so DuckDB sorts the purchases once for them. The customer's
-- first purchase time is not a column here: it is customer_summary's first_order_at, which purchases reads (a
-- fifth window function and its column cost about 0.25 CPU s of a full load at 5M orders).
-- Only the columns something reads: each text column of a table this long costs about a second to compress at
-- 5M orders (benchmarks/README.md); the order's sales channel and currency are read from orders.
with purchases as (
    select order_id, customer_id, ordered_at, net_revenue, coalesce(discount, 0) as discount
    from orders
    where status not in ('refunded', 'cancelled') and customer_id is not null
),

numbered as (
    select
        *,
        row_number() over (partition by customer_id order by ordered_at, order_id) as order_number,
        lag(ordered_at) over (partition by customer_id order by ordered_at, order_id) as previous_ordered_at,
        lead(ordered_at) over (partition by customer_id order by ordered_at, order_id) as next_ordered_at,
        sum(net_revenue) over (
            partition by customer_id order by ordered_at, order_id rows between unbounded preceding and current row
        )::decimal(38, 2) as revenue_so_far
    from purchases
),

final as (
    select
        *,
        epoch(ordered_at - previous_ordered_at) / 86400.0 as days_since_previous_order
    from numbered
)

select * from final
