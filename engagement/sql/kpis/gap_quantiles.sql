-- Grain: one row: the order statistics bounding the median gap's interval for one window and
-- selection ($lower_fraction, $upper_fraction are the bounding ranks as fractions of n).
select
    quantile_disc(days_since_previous_order, $lower_fraction) as lower_days,
    quantile_disc(days_since_previous_order, $upper_fraction) as upper_days
from purchases
where ordered_at >= $start and ordered_at < $end_exclusive and order_number > 1
  and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
  and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
