-- Grain: one row per customer whose first purchase is on or before the CLV page's default calibration end (clv/customer_summary.sql stored for it).
-- This file selects clv/customer_summary.sql's bound parameters; store.py builds the table by running that
-- query with them. The page's default holdout is the last 182 days of the data (pages/rfm_clv.py), over
-- every channel and segment; recency and T are stored in days (unit_days = 1) and clv.py divides them
-- by the unit asked for, which gives the same doubles as computing them in that unit.
with final as (
    select
        greatest(first_order_at::date, as_of::date - 182) as calibration_end,
        as_of::date as observation_end,
        1 as unit_days,
        []::varchar[] as channels,
        []::varchar[] as segments
    from dataset_facts
)

select * from final
