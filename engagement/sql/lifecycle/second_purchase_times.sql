-- Grain: one row per whole day since the first purchase at which a selected customer (first purchase in the
-- window) made a second purchase or was last observed without one (censored at the data's latest activity).
-- The input of a Kaplan-Meier estimate (engagement/stats/survival.py): customers without a second purchase are
-- censored, never dropped.
with facts as (
    select as_of from dataset_facts
),

first_buyers as (
    select customer_id, first_order_at
    from customer_summary
    where first_order_at >= $start and first_order_at < $end_exclusive
      and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
),

second_purchases as (
    select customer_id, ordered_at as second_order_at
    from order_facts
    where order_number = 2
),

durations as (
    select
        floor(epoch(coalesce(s.second_order_at, (select as_of from facts)) - f.first_order_at) / 86400.0)::integer
            as day,
        s.second_order_at is not null as is_second_purchase
    from first_buyers as f
    left join second_purchases as s using (customer_id)
)

select
    day,
    count(*) filter (where is_second_purchase) as events,
    count(*) filter (where not is_second_purchase) as censored
from durations
group by day
order by day
