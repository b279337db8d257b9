-- Grain: one row per customer of `later_summary_rows` whose first purchase is on or before $calibration_end (clv/customer_summary.sql's rows for $calibration_end).
-- `later_summary_rows` holds clv/customer_summary.sql's rows, in the unit asked for and narrowed to the
-- selection, for the same observation end and a later calibration end, $later_calibration_end (a stored
-- summary: clv/stored_calibration_summary.sql or clv/stored_history_summary.sql). The purchase days in
-- ($calibration_end, $later_calibration_end] move from the calibration period to the holdout: frequency and
-- repeat value lose them, the holdout count and value gain them (exact DECIMAL sums), and the last purchase
-- day on or before $calibration_end is the day of the purchase before the earliest one that moved (derived
-- `purchases` carries each purchase's previous purchase time). So only the purchases between the two days
-- are read, and the formulas are those of clv/customer_summary.sql: the same rows to the last bit.
with moved_purchases as (
    -- A range on ordered_at itself, so that DuckDB skips the row groups of the date-ordered table outside it.
    select
        customer_key,
        customer_id,
        previous_ordered_at,
        previous_ordered_at::date < ordered_at::date as opens_purchase_day,
        net_revenue
    from purchases
    where ordered_at >= ($calibration_end::date + 1)::timestamp
      and ordered_at < ($later_calibration_end::date + 1)::timestamp
      and first_ordered_at::date <= $calibration_end::date
      and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
),

moved as (
    -- grouped by the integer customer_key (see derived/customer_summary.sql): same groups as customer_id.
    select
        any_value(customer_id) as customer_id,
        min(previous_ordered_at)::date as last_purchase_day,
        count(*) filter (where opens_purchase_day) as moved_purchase_days,
        sum(net_revenue) as moved_value
    from moved_purchases
    group by customer_key
),

shifted as (
    select
        l.customer_id,
        l.first_purchase_day,
        l.frequency - coalesce(m.moved_purchase_days, 0) as frequency,
        case
            when m.customer_id is null then l.recency
            else date_diff('day', l.first_purchase_day, m.last_purchase_day) / $unit_days::double
        end as recency,
        date_diff('day', l.first_purchase_day, $calibration_end::date) / $unit_days::double as T,
        l.repeat_value - coalesce(m.moved_value, 0) as repeat_value,
        l.holdout_frequency + coalesce(m.moved_purchase_days, 0) as holdout_frequency,
        l.holdout_value + coalesce(m.moved_value, 0) as holdout_value
    from later_summary_rows as l
    left join moved as m using (customer_id)
    where l.first_purchase_day <= $calibration_end::date
),

final as (
    select
        customer_id,
        first_purchase_day,
        frequency,
        recency,
        T,
        case when frequency > 0 then repeat_value::double / frequency end as monetary_value,
        repeat_value,
        holdout_frequency,
        holdout_value
    from shifted
)

select * from final
