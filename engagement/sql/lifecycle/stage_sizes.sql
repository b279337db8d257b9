-- Grain: one row per moment per lifecycle stage (reads customer_stages, prepended by engagement/retention/lifecycle.py).
select
    moment_at,
    ['prospect', 'new', 'repeat', 'vip', 'won_back', 'at_risk', 'lapsed'][stage_code] as lifecycle_stage,
    customers,
    lifetime_revenue
from (
    select moment_at, stage_code, count(*) as customers, sum(revenue_so_far)::double as lifetime_revenue
    from customer_stages
    group by all
) as sizes
order by moment_at, stage_code
