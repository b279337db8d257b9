-- Grain: one row per customer who bought in the RFM page's default window (rfm/customer_scores.sql stored for it).
-- This file selects that window as rfm/customer_scores.sql's bound parameters; store.py builds the table
-- by running that query with them. The default window is kpis.default_filters: the 12 months up to the
-- last purchase day (or all of the data when shorter), every channel and segment. rfm.py reads the
-- table only when a view asks for exactly these parameters.
with final as (
    select
        greatest(first_order_at::date, (last_order_at::date - interval 1 year)::date + 1)::timestamp as start,
        (last_order_at::date + 1)::timestamp as end_exclusive,
        []::varchar[] as channels,
        []::varchar[] as segments
    from dataset_facts
)

select * from final
