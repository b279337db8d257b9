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
-- answer is before the window) rather than a group-by per customer.
first_answers as (
    select response_id, customer_id, responded_at, score
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
        a.*,
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

-- Purchases in each followed-up answer's window: one inner join (answers with no purchase get no
-- row here and count as zero purchases and zero revenue in `final`). The date bounds on the
-- purchases themselves let DuckDB skip orders outside every window before the join.
follow_up as (
    select
        a.response_id,
        count(*) as purchases,
        sum(o.net_revenue)::double as revenue
    from categorised as a
    join order_facts as o
        on o.customer_id = a.customer_id
        and o.ordered_at > a.responded_at
        and o.ordered_at <= a.responded_at + $horizon_days * interval 1 day
    where not a.is_censored
      and o.ordered_at > $start
      and o.ordered_at <= $end_exclusive + $horizon_days * interval 1 day
    group by a.response_id
),

final as (
    select
        a.category,
        count(*) as answers,
        count(*) filter (where a.is_censored) as censored,
        count(*) filter (where not a.is_censored) as followed_up,
        count(f.response_id) as repurchasers,
        avg(coalesce(f.revenue, 0)) filter (where not a.is_censored) as revenue_per_customer,
        stddev_samp(coalesce(f.revenue, 0)) filter (where not a.is_censored) as revenue_sd
    from categorised as a
    left join follow_up as f using (response_id)
    group by a.category
)

select * from final
