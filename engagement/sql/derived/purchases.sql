-- Grain: one row per purchase, with the buying customer's attributes the shared filters select on.
-- A wide, date-ordered copy of order_facts: windowed views filter it without joins, and the
-- ordering lets DuckDB skip row groups outside the selected dates.
with final as (
    select
        o.order_id,
        o.customer_id,
        o.ordered_at,
        o.net_revenue,
        o.discount,
        o.order_number,
        o.days_since_previous_order,
        s.acquisition_channel,
        s.lifecycle_stage,
        s.is_loyalty_member
    from order_facts as o
    join customer_summary as s using (customer_id)
    order by o.ordered_at
)

select * from final
