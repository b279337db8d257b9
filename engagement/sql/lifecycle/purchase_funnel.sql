-- Grain: one row for the selected customers whose first purchase is in the window and at least
-- $min_tenure_days before the data's latest activity: how many reached a 1st, 2nd, 3rd and 4th purchase.
with facts as (
    select as_of from dataset_facts
),

cohort as (
    select order_count
    from customer_summary
    where first_order_at >= $start and first_order_at < $end_exclusive
      and first_order_at <= (select as_of from facts) - to_days($min_tenure_days::integer)
      and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
)

select
    count(*) filter (where order_count >= 1) as reached_1,
    count(*) filter (where order_count >= 2) as reached_2,
    count(*) filter (where order_count >= 3) as reached_3,
    count(*) filter (where order_count >= 4) as reached_4
from cohort
