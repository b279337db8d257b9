-- Grain: one row per whole number of days (rounded down) between a repeat purchase and the one before it,
-- for the repeat purchases in one window ($start, $end_exclusive) and selection ($channels, $segments):
-- how many gaps fall in [gap_day, gap_day + 1). engagement/value/kpis.py uses it to find which days hold the
-- ranks it needs, so gap_order_statistics.sql selects among those few gaps instead of all of them.
select floor(days_since_previous_order)::bigint as gap_day, count(*) as gaps
from purchases
where ordered_at >= $start and ordered_at < $end_exclusive and order_number > 1
  and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
  and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
group by gap_day
order by gap_day
