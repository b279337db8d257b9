-- Grain: one row per moment per lifecycle stage (reads customer_stages, prepended by engagement/lifecycle.py).
select
    moment_at,
    lifecycle_stage,
    count(*) as customers,
    sum(revenue_so_far)::double as lifetime_revenue
from customer_stages
group by all
order by moment_at, lifecycle_stage
