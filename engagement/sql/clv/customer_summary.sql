-- Grain: one row per selected customer whose first purchase is on or before $calibration_end.
-- The SQL twin of lifetimes' summary_data_from_transaction_data: repeat purchases are counted as
-- distinct purchase days (several orders on one day are one purchase of their summed value);
-- frequency = purchase days - 1, recency = last - first purchase day, T = $calibration_end - first
-- purchase day, both in units of $unit_days days; monetary_value = average value of the repeat
-- purchase days, whose total is kept exact as repeat_value. Purchase days after $calibration_end, up to
-- $observation_end, are the holdout.
-- Values are summed as DECIMAL (exact, so the same in every run and in the stored copies of this
-- query); only the average repeat value is a double. Kept exact, the sums of a stored copy can be
-- moved between the calibration period and the holdout (clv/earlier_summary.sql).
--
-- One group-by over the purchases, none over (customer, day): derived `purchases` carries each purchase's
-- previous purchase time (a purchase opens a new purchase day when the previous one was on an earlier
-- day, or there is none: '-infinity') and the customer's first purchase time, so purchase days are
-- counted and the first day's value set apart without grouping by day. It also carries the filter
-- columns, so the customer selection needs no join.
with selected_purchases as (
    select
        customer_key,
        customer_id,
        ordered_at::date as purchase_day,
        first_ordered_at::date as first_purchase_day,
        previous_ordered_at::date < ordered_at::date as opens_purchase_day,
        net_revenue
    from purchases
    where ordered_at::date <= $observation_end::date
      and first_ordered_at::date <= $calibration_end::date
      and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
),

per_customer as (
    -- grouped by the integer customer_key (see derived/customer_summary.sql): same groups as customer_id.
    select
        any_value(customer_id) as customer_id,
        any_value(first_purchase_day) as first_purchase_day,
        max(purchase_day) filter (where purchase_day <= $calibration_end::date) as last_purchase_day,
        count(*) filter (where opens_purchase_day and purchase_day <= $calibration_end::date) - 1 as frequency,
        coalesce(sum(net_revenue) filter (
            where purchase_day <= $calibration_end::date and purchase_day > first_purchase_day), 0) as repeat_value,
        count(*) filter (where opens_purchase_day and purchase_day > $calibration_end::date) as holdout_frequency,
        coalesce(sum(net_revenue) filter (where purchase_day > $calibration_end::date), 0) as holdout_value
    from selected_purchases
    group by customer_key
),

final as (
    select
        customer_id,
        first_purchase_day,
        frequency,
        date_diff('day', first_purchase_day, last_purchase_day) / $unit_days::double as recency,
        date_diff('day', first_purchase_day, $calibration_end::date) / $unit_days::double as T,
        case when frequency > 0 then repeat_value::double / frequency end as monetary_value,
        repeat_value,
        holdout_frequency,
        holdout_value
    from per_customer
)

select * from final
