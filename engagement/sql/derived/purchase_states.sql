-- Grain: one row per purchase order (as order_facts), with the customer's state from this purchase until the
-- next one: purchases so far, revenue so far and the gap before this purchase. Lifecycle stages at any past
-- moment are a range join of these rows with the moments (sql/lifecycle/customer_stages.sql), which selects
-- customers by their channel, loyalty tier and current stage in customer_summary, through the stable integer
-- customer_key carried here: repeating those three texts on every purchase cost 1.5-2 CPU s of the load at 5M
-- orders (benchmarks/README.md), and a moved cut rewrote the purchases of every customer whose stage it changed.
with final as (
    select
        o.customer_id,
        k.customer_key,
        o.ordered_at,
        -- Until the next purchase; 'infinity' for the last one, so the range join is two plain comparisons.
        lead(o.ordered_at, 1, 'infinity'::timestamp) over (partition by o.customer_id order by o.order_number)
            as state_ends_at,
        o.order_number as orders_so_far,
        sum(o.net_revenue) over (
            partition by o.customer_id order by o.order_number rows between unbounded preceding and current row
        )::decimal(38, 2) as revenue_so_far,
        o.days_since_previous_order as gap_before_this_order_days
    from order_facts as o
    join customer_keys as k using (customer_id)
)

-- Stored in the order a state ends, so that a moment's range join skips the row groups of states that
-- ended before it (today's stages read only the last purchase of each customer).
select * from final
order by state_ends_at
