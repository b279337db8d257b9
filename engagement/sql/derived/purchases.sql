-- Grain: one row per purchase, with the buying customer's attributes the shared filters select on.
-- A wide copy of order_facts: windowed views filter it without joins. Not sorted by date: the sort was half of
-- this table's cost in a full load (about 2 CPU s at 5M orders), and the views reading it (the pages' default
-- RFM, CLV, churn and engagement queries) measured no slower on unsorted rows (benchmarks/README.md); an
-- incremental write appends its customers' rows at the end anyway. The customer's neighbouring purchase
-- times are never null, so window counts compare them without null checks: previous_ordered_at is
-- '-infinity' on a first purchase, next_ordered_at 'infinity' on the latest one. The order id and discount are
-- not carried (no view reads them here; order_facts has them): a text column of 4M rows costs about a second to
-- write. It is also each customer's state from one purchase until the next (next_ordered_at), with the purchases
-- and revenue so far: the lifecycle stages at any past moment are a range join of these rows with the moments
-- (sql/lifecycle/customer_stages.sql), so no third per-purchase table is built for them.
with final as (
    select
        o.customer_id,
        o.ordered_at,
        o.net_revenue,
        o.order_number,
        o.days_since_previous_order,
        coalesce(o.previous_ordered_at, '-infinity'::timestamp) as previous_ordered_at,
        coalesce(o.next_ordered_at, 'infinity'::timestamp) as next_ordered_at,
        s.first_order_at as first_ordered_at,  -- the customer's first purchase (order_facts has no column of it)
        o.revenue_so_far,
        s.acquisition_channel,
        s.lifecycle_stage,
        s.is_loyalty_member,
        s.customer_key
    from order_facts as o
    join customer_summary as s using (customer_id)
)

select * from final
