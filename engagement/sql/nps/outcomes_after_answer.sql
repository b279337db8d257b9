-- Grain: one row per answer category (top box, middle, bottom box) of kind $kind.
-- Unit: a respondent's FIRST answer of the kind in the window ($start, $end_exclusive), for the
-- selected customers ($channels, $segments). Outcome: the customer's purchases in the
-- $horizon_days days after that answer. An answer whose follow-up window ends after the last
-- recorded purchase in the data is censored (its outcome is not yet known): it is counted in
-- `censored` and left out of every outcome column.
with data_end as (
    select last_order_at from dataset_facts
),

-- The first answer of each selected respondent in the window: derived `survey_answers` carries the
-- customer's attributes and the time of their previous answer of the kind, so it is a filter (the previous
-- answer is before the window) rather than a group-by per customer. It also carries the customer's purchases
-- after the answer (later_purchases, in time order), so the follow-up needs no join with the purchases.
first_answers as (
    select responded_at, score, later_purchases
    from survey_answers
    where kind = $kind
      and responded_at >= $start
      and responded_at < $end_exclusive
      and previous_answered_at < $start
      and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
),

categorised as (
    select
        a.responded_at,
        a.later_purchases,
        case
            when a.score >= $top_min then 'top'
            when a.score <= $bottom_max then 'bottom'
            else 'middle'
        end as category,
        a.responded_at + $horizon_days * interval 1 day > d.last_order_at
            or d.last_order_at is null as is_censored
    from first_answers as a
    cross join data_end as d
),

-- The purchases in each followed-up answer's window: later_purchases are all after the answer, so the window
-- is those up to $horizon_days days after it (a censored answer's outcome is never used: not computed).
in_window as (
    select
        category,
        is_censored,
        case when not is_censored then list_filter(
            later_purchases, lambda purchase: purchase.ordered_at <= responded_at + $horizon_days * interval 1 day
        ) end as window_purchases
    from categorised
),

follow_up as (
    select
        category,
        is_censored,
        len(window_purchases) as purchases,
        coalesce(list_sum(list_transform(window_purchases, lambda purchase: purchase.net_revenue)), 0)::double
            as revenue
    from in_window
),

final as (
    select
        category,
        count(*) as answers,
        count(*) filter (where is_censored) as censored,
        count(*) filter (where not is_censored) as followed_up,
        count(*) filter (where not is_censored and purchases > 0) as repurchasers,
        avg(revenue) filter (where not is_censored) as revenue_per_customer,
        stddev_samp(revenue) filter (where not is_censored) as revenue_sd
    from follow_up
    group by category
)

select * from final
