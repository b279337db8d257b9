-- Grain: one row: the first and last day on which a customer made a first purchase (the span of the acquisition
-- cohorts), for telling an empty date range from cohorts too young to show.
select
    min(first_order_at)::date as first_cohort_day,
    max(first_order_at)::date as last_cohort_day
from customer_summary
where first_order_at is not null
