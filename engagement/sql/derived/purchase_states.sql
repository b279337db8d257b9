-- Grain: one row per purchase order (as order_facts), with what the customer's state is from this purchase
-- until the next one: purchases so far, revenue so far and the gap before this purchase. Lifecycle stages
-- at any past moment are a range join of these rows with the moments (engagement/lifecycle.py).
with purchases as (
    select customer_id, ordered_at, order_number, days_since_previous_order, net_revenue
    from order_facts
),

final as (
    select
        customer_id,
        ordered_at,
        lead(ordered_at) over (partition by customer_id order by order_number) as next_ordered_at,
        order_number as orders_so_far,
        sum(net_revenue) over (
            partition by customer_id order by order_number rows between unbounded preceding and current row
        )::decimal(18, 2) as revenue_so_far,
        days_since_previous_order as gap_before_this_order_days
    from purchases
)

select * from final
