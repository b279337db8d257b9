-- Grain: one row per customer with a purchase up to the end of the data (churn/churn_features.sql stored for scoring every customer).
-- This file selects churn/churn_features.sql's bound parameters for scoring every customer now: features
-- as of the end of the data's last day, every channel and segment, no sample. The label window (90 days
-- here) lies after the data: no customer has a purchase in it, so the rows are the same for any horizon,
-- and churn.py scores every horizon and selection from this table. store.py builds it by running that
-- query with these parameters.
with final as (
    select
        (as_of::date + 1)::timestamp as cutoff,
        (as_of::date + 1)::timestamp + interval 90 day as label_end,
        []::varchar[] as channels,
        []::varchar[] as segments,
        null::bigint as sample_customers
    from dataset_facts
)

select * from final
