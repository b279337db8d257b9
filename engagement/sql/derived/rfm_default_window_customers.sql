-- Grain: one row per customer who bought in the RFM page's default window (rfm/window_customers.sql stored for it,
-- every channel and segment; rfm.py narrows it to any selection before scoring).
-- This file selects that window as rfm/window_customers.sql's bound parameters; store.py builds the table
-- by running that query with them. The default window (dataset_facts) is kpis.default_filters: the 12 months up to the
-- last purchase day (or all of the data when shorter), every channel and segment. rfm.py reads the
-- table only when a view asks for exactly these parameters.
with final as (
    select
        default_window_start as start,
        default_window_end_exclusive as end_exclusive,
        []::varchar[] as channels,
        []::varchar[] as segments
    from dataset_facts
)

select * from final
