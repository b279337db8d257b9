-- Grain: one row per customer (as customer_summary), numbered by a dense integer customer_key in customer_id
-- order. The engagement tables below carry the integer key instead of the text id, so scoring groups and joins
-- on integers; ordering by the key orders by customer_id. Carries what the shared filters select on.
with final as (
    select
        row_number() over (order by customer_id)::integer as customer_key,
        customer_id,
        acquisition_channel,
        lifecycle_stage,
        coalesce(created_at, first_order_at) as known_since,
        revenue as lifetime_revenue
    from customer_summary
)

select * from final
order by customer_key
