-- Grain: one row per stage at $from_at per stage at $to_at (reads customer_stages for the two moments,
-- prepended by engagement/lifecycle.py). Customers not yet known at $from_at start from 'not_yet_known'.
select from_stage, to_stage, count(*) as customers
from (
    select
        customer_id,
        coalesce(any_value(lifecycle_stage) filter (where moment_at = $from_at), 'not_yet_known') as from_stage,
        any_value(lifecycle_stage) filter (where moment_at = $to_at) as to_stage
    from customer_stages
    group by customer_id
) as paired
where to_stage is not null
group by all
order by from_stage, to_stage
