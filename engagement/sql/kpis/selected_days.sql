-- Grain: one row per purchase day in the window ($start inclusive, $end_exclusive exclusive) of the selected
-- customers ($channels, $segments; an empty list selects all), or one row per purchase when a stage is
-- selected: the order sums the Overview's windows and months add up (kpis/window_totals.sql,
-- kpis/aov_by_month.sql read it as `selected_days`, engagement/value/kpis.py chains it).
--
-- purchase_days carries no lifecycle stage (a customer's stage today moves with every load's "as of" and
-- cuts: see derived/purchase_days.sql). With a stage filter the same sums are read from the purchases of the
-- customers in those stages (purchases carries each customer's current stage). Each branch is cut by its
-- constant condition on $segments before it reads anything. DECIMAL sums: the same totals either way.
select purchase_day, orders, revenue, revenue_squared, returning_revenue, repeat_orders
from purchase_days
where len($segments::varchar[]) = 0
  and purchase_day >= $start::date and purchase_day < $end_exclusive::date
  and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
union all
select
    ordered_at::date,
    1,
    net_revenue,
    net_revenue::decimal(38, 2) * net_revenue,
    case when order_number > 1 then net_revenue else 0 end,
    case when order_number > 1 then 1 else 0 end
from purchases
where len($segments::varchar[]) > 0 and list_contains($segments::varchar[], lifecycle_stage)
  and ordered_at >= $start::date and ordered_at < $end_exclusive::date
  and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
