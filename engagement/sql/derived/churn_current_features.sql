-- Grain: one row per customer with a purchase up to the end of the data (clv/churn_features.sql stored for scoring with the default 90-day horizon).
-- This file selects clv/churn_features.sql's bound parameters for scoring every customer now: features
-- as of the end of the data's last day (the label window lies after the data and is ignored), every
-- channel and segment. store.py builds the table by running that query with them.
with final as (
    select
        (as_of::date + 1)::timestamp as cutoff,
        (as_of::date + 1)::timestamp + interval 90 day as label_end,
        []::varchar[] as channels,
        []::varchar[] as segments
    from dataset_facts
)

select * from final
