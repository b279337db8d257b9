-- Grain: one row per scored customer of `customer_scores` (engagement/customer_scores.sql), highest score
-- first (ties by customer id), at most $limit rows.
select *
from customer_scores
order by score desc, customer_id
limit $limit
