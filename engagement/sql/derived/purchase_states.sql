-- Grain: one row per purchase order (as order_facts), with the customer's state from this purchase until the
-- next one: purchases so far, revenue so far and the gap before this purchase. Lifecycle stages at any past
-- moment are a range join of these rows with the moments (sql/lifecycle/customer_stages.sql), which takes the
-- customer's channel, loyalty tier and current stage from customer_summary: repeating them on every purchase
-- cost three text columns of 4M rows at 5M orders (about 3 CPU s of the load), and a moved cut would rewrite
-- the purchases of every customer whose stage it changed.
with final as (
    select
        customer_id,
        ordered_at,
        -- Until the next purchase; 'infinity' for the last one, so the range join is two plain comparisons.
        lead(ordered_at, 1, 'infinity'::timestamp) over (partition by customer_id order by order_number)
            as state_ends_at,
        order_number as orders_so_far,
        sum(net_revenue) over (
            partition by customer_id order by order_number rows between unbounded preceding and current row
        )::decimal(38, 2) as revenue_so_far,
        days_since_previous_order as gap_before_this_order_days
    from order_facts
)

-- Stored in the order a state ends, so that a moment's range join skips the row groups of states that
-- ended before it (today's stages read only the last purchase of each customer).
select * from final
order by state_ends_at
