-- Grain: one row: chosen order statistics of the gaps before repeat purchases in one window and selection,
-- among the gaps of $from_days <= gap < $to_days only. $fractions holds (r - 0.5) / n for each wanted rank
-- r of the n gaps in that range (quantile_disc then returns the r-th smallest); engagement/value/kpis.py turns
-- ranks among all gaps into ranks in the range with gap_histogram.sql.
select quantile_disc(days_since_previous_order, $fractions::double[]) as order_statistics
from purchases
where ordered_at >= $start and ordered_at < $end_exclusive and order_number > 1
  and days_since_previous_order >= $from_days and days_since_previous_order < $to_days
  and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
  and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
