-- Grain: one row per stage at $from_at per stage at $to_at (reads customer_stages for the two moments,
-- prepended by engagement/retention/lifecycle.py). Customers not yet known at $from_at start from 'not_yet_known'.
-- Everyone known at $from_at is still known at $to_at, so the later moment drives the join.
select
    coalesce(earlier.lifecycle_stage, 'not_yet_known') as from_stage,
    later.lifecycle_stage as to_stage,
    count(*) as customers
from (select customer_id, lifecycle_stage from customer_stages where moment_at = $to_at) as later
left join (select customer_id, lifecycle_stage from customer_stages where moment_at = $from_at) as earlier
    using (customer_id)
group by all
order by from_stage, to_stage
