-- Grain: one row for the scored customers (customer_scores, the pre period): whether every score point came from
-- purchases ($w_orders each), so that "engaged" means "bought most often before" (an orders-only brand, or every
-- other weight 0) and the observational comparison measures no programme.
select
    coalesce(sum(score), 0) > 0 and coalesce(bool_and(score = orders * $w_orders::double), false) as purchases_only
from customer_scores
