-- Grain: one row per selected customer whose first purchase is on or before $calibration_end.
-- The SQL twin of lifetimes' summary_data_from_transaction_data: repeat purchases are counted as
-- distinct purchase days (several orders on one day are one purchase of their summed value);
-- frequency = purchase days - 1, recency = last - first purchase day, T = $calibration_end - first
-- purchase day, both in units of $unit_days days; monetary_value = average value of the repeat
-- purchase days. Purchase days after $calibration_end, up to $observation_end, are the holdout.
-- Values are summed as DECIMAL (exact, so the same in every run and in the stored copies of this
-- query) and turned into doubles only at the end.
with purchase_days as (
    -- derived `purchases` carries the filter columns, so the customer selection needs no join.
    select
        customer_id,
        ordered_at::date as purchase_day,
        sum(net_revenue) as day_value
    from purchases
    where ordered_at::date <= $observation_end::date
      and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
    group by all
),

calibration as (
    select
        customer_id,
        min(purchase_day) as first_purchase_day,
        max(purchase_day) as last_purchase_day,
        count(*) - 1 as frequency,
        sum(day_value) - arg_min(day_value, purchase_day) as repeat_value
    from purchase_days
    where purchase_day <= $calibration_end::date
    group by customer_id
),

holdout as (
    select customer_id, count(*) as holdout_frequency, sum(day_value) as holdout_value
    from purchase_days
    where purchase_day > $calibration_end::date
    group by customer_id
),

final as (
    select
        c.customer_id,
        c.first_purchase_day,
        c.frequency,
        date_diff('day', c.first_purchase_day, c.last_purchase_day) / $unit_days::double as recency,
        date_diff('day', c.first_purchase_day, $calibration_end::date) / $unit_days::double as T,
        case when c.frequency > 0 then c.repeat_value::double / c.frequency end as monetary_value,
        coalesce(h.holdout_frequency, 0) as holdout_frequency,
        coalesce(h.holdout_value, 0)::double as holdout_value
    from calibration as c
    left join holdout as h using (customer_id)
)

select * from final
