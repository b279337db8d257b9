-- Grain: one row for the whole dataset: the first purchase day and the day observation ends.
-- Observation ends at the dataset's latest activity (dataset_facts.as_of), not the wall clock.
with final as (
    select
        (select min(ordered_at)::date from order_facts) as first_purchase_day,
        (select as_of::date from dataset_facts) as observation_end
)

select * from final
