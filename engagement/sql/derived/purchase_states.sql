-- Grain: one row per purchase order (as order_facts), with the customer's state from this purchase until the
-- next one: purchases so far, revenue so far and the gap before this purchase. Lifecycle stages at any past
-- moment are a range join of these rows with the moments (sql/lifecycle/customer_stages.sql). The customer's
-- channel, loyalty tier and current default stage are carried along so that join needs no customer lookup.
with purchases as (
    select customer_id, ordered_at, order_number, days_since_previous_order, net_revenue
    from order_facts
),

final as (
    select
        p.customer_id,
        p.ordered_at,
        -- Until the next purchase; 'infinity' for the last one, so the range join is two plain comparisons.
        lead(p.ordered_at, 1, 'infinity'::timestamp) over (partition by p.customer_id order by p.order_number)
            as state_ends_at,
        p.order_number as orders_so_far,
        sum(p.net_revenue) over (
            partition by p.customer_id order by p.order_number rows between unbounded preceding and current row
        )::decimal(38, 2) as revenue_so_far,
        p.days_since_previous_order as gap_before_this_order_days,
        s.acquisition_channel,
        s.loyalty_tier,
        s.lifecycle_stage as current_lifecycle_stage
    from purchases as p
    join customer_summary as s using (customer_id)
)

-- Stored in the order a state ends, so that a moment's range join skips the row groups of states that
-- ended before it (today's stages read only the last purchase of each customer).
select * from final
order by state_ends_at
