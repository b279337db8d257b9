-- Grain: one row per sampled customer with a purchase before the churn model's default training cutoff (churn/churn_features.sql stored for it).
-- This file selects churn/churn_features.sql's bound parameters for the page's default 90-day horizon
-- (pages/rfm_clv.py): features as of 90 days before the end of the data's last day, labelled by a
-- purchase in the 90 days after, every channel and segment, for the churn model's sample of 100,000
-- training and holdout customers (engagement/retention/churn.py's TRAINING_SAMPLE_CUSTOMERS; a test checks they
-- agree). store.py builds the table by running that query with them; churn.py reads it when asked for
-- exactly these parameters.
with final as (
    select
        (as_of::date + 1)::timestamp - interval 90 day as cutoff,
        (as_of::date + 1)::timestamp as label_end,
        []::varchar[] as channels,
        []::varchar[] as segments,
        100000::bigint as sample_customers
    from dataset_facts
)

select * from final
