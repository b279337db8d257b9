-- Grain: one row per customer with a purchase up to the end of the data (clv/customer_summary.sql stored for the whole history).
-- This file selects clv/customer_summary.sql's bound parameters for the CLV forecast's fit on the whole
-- history (calibration and observation end at the data's end, every channel and segment); store.py builds
-- the table by running that query with them. Recency and T are in days (unit_days = 1), as in
-- clv_calibration_summary.
with final as (
    select
        as_of::date as calibration_end,
        as_of::date as observation_end,
        1 as unit_days,
        []::varchar[] as channels,
        []::varchar[] as segments
    from dataset_facts
)

select * from final
