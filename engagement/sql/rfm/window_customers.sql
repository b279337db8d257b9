-- Grain: one row per selected customer ($channels, $segments; an empty list selects all) with at least one
-- purchase in the window [$start, $end_exclusive): recency in days from the end of the window to the last
-- purchase, orders and revenue in the window, and the customer's acquisition channel and lifecycle stage,
-- so that a stored copy for every customer (derived rfm_default_window_customers) can be narrowed to any
-- selection before scoring (rfm/customer_scores.sql).
with window_orders as (
    -- derived `purchases` is date-ordered and carries the filter columns: no join, and DuckDB skips
    -- row groups outside the window.
    select customer_key, customer_id, acquisition_channel, lifecycle_stage, ordered_at, net_revenue
    from purchases
    where ordered_at >= $start and ordered_at < $end_exclusive
      and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
),

final as (
    -- grouped by the integer customer_key (see derived/customer_summary.sql): same groups as customer_id.
    select
        any_value(customer_id) as customer_id,
        any_value(acquisition_channel) as acquisition_channel,
        any_value(lifecycle_stage) as lifecycle_stage,
        epoch($end_exclusive::timestamp - max(ordered_at)) / 86400.0 as recency_days,
        count(*) as orders,
        sum(net_revenue)::double as revenue
    from window_orders
    group by customer_key
)

select * from final
