-- Grain: one row per customer (every customer record, plus every customer id named only by activity).
-- A customer exists when any loaded activity (orders, events, surveys, experiment assignments) names the id;
-- the customers table holds only what a customers export said. is_implied marks ids no customers export has
-- (created_at is then the first activity seen), so undoing an orders load removes exactly its orders.
-- Lifetime purchase facts of each customer: only the customer's own rows decide them (no cut, no "as of"),
-- so a load changes the rows of the customers it names and no others. customer_summary adds the stage.
-- customer_key is the customer's stable integer key (derived/customer_keys.sql: assigned once, when the id first
-- appears): views that group many rows by customer group by this integer, about 3x cheaper than by the text id.
with purchase_totals as (
    select
        customer_id,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        count(*) as order_count,
        sum(net_revenue) as revenue,
        arg_min(net_revenue, order_number) as first_order_revenue,
        arg_min(discount, order_number) > 0 as is_first_order_discounted,
        arg_max(days_since_previous_order, order_number) as gap_before_last_order_days
    from order_facts
    group by customer_id
),

activity_first_seen as (
    -- An order is a purchase (order_facts, already grouped above) or not (refunded, cancelled, no status): only
    -- the latter are grouped again here, not every order.
    select customer_id, min(first_at) as first_seen_at
    from (
        select customer_id, first_order_at as first_at from purchase_totals
        union all
        select customer_id, min(ordered_at) from orders
        where customer_id is not null and (status in ('refunded', 'cancelled') or status is null) group by all
        union all
        select customer_id, min(occurred_at) from events group by all
        union all
        select customer_id, min(responded_at) from surveys group by all
        union all
        select customer_id, min(assigned_at) from experiment_assignments group by all
    ) as seen
    group by customer_id
),

known_customers as (
    select customer_id from customers
    union
    select customer_id from activity_first_seen
),

final as (
    select
        k.customer_id,
        coalesce(c.created_at, a.first_seen_at) as created_at,
        c.customer_id is null as is_implied,
        coalesce(c.acquisition_channel, 'unknown') as acquisition_channel,
        c.country,
        coalesce(c.is_loyalty_member, false) as is_loyalty_member,
        c.loyalty_tier,
        coalesce(c.accepts_marketing, false) as accepts_marketing,
        p.first_order_at,
        p.last_order_at,
        coalesce(p.order_count, 0) as order_count,
        coalesce(p.revenue, 0)::decimal(38, 2) as revenue,  -- a customer's total can pass an order's DECIMAL(18,2)
        p.first_order_revenue,
        coalesce(p.is_first_order_discounted, false) as is_first_order_discounted,
        p.gap_before_last_order_days,
        date_trunc('month', p.first_order_at)::date as cohort_month,
        keys.customer_key
    from known_customers as k
    join customer_keys as keys using (customer_id)
    left join customers as c using (customer_id)
    left join purchase_totals as p using (customer_id)
    left join activity_first_seen as a using (customer_id)
)

select * from final
