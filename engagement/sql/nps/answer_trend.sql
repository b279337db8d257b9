-- Grain: one row per calendar period ($grain: 'week' (ISO, starting Monday) or 'month') with at least
-- one answer of kind $kind in the window ($start, $end_exclusive) from the selected customers
-- ($channels, $segments). Counts of the top box (score >= $top_min), middle and bottom box
-- (score <= $bottom_max); scores and intervals are computed in engagement/nps.py.
with answers as (
    select score, date_trunc($grain, responded_at)::date as period
    from survey_answers
    where kind = $kind
      and responded_at >= $start
      and responded_at < $end_exclusive
      and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
),

final as (
    select
        period,
        count(*) as responses,
        count(*) filter (where score >= $top_min) as top_box,
        count(*) filter (where score > $bottom_max and score < $top_min) as middle,
        count(*) filter (where score <= $bottom_max) as bottom_box,
        avg(score)::double as mean_score,
        stddev_samp(score)::double as score_sd
    from answers
    group by period
    order by period
)

select * from final
