-- Grain: one row per group of the chosen breakdown ($dimension: all, touchpoint, channel, stage, loyalty,
-- country, month or week) for the survey answers of one kind ($kind) given in the window ($start,
-- $end_exclusive) by the selected customers ($channels, $segments; an empty list selects all).
-- Counts only: the top box (score >= $top_min), the bottom box (score <= $bottom_max) and the middle;
-- scores and intervals are computed from them in engagement/nps.py and engagement/csat.py.
with answers as (
    -- derived `survey_answers` carries the customer attributes: no join, and the date order lets DuckDB
    -- skip row groups outside the window.
    select score, responded_at, touchpoint, acquisition_channel, lifecycle_stage, loyalty_segment, country
    from survey_answers
    where kind = $kind
      and responded_at >= $start
      and responded_at < $end_exclusive
      and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
),

grouped as (
    select
        case $dimension
            when 'touchpoint' then touchpoint
            when 'channel' then acquisition_channel
            when 'stage' then lifecycle_stage
            when 'loyalty' then loyalty_segment
            when 'country' then country
            when 'month' then strftime(date_trunc('month', responded_at), '%Y-%m')
            when 'week' then strftime(date_trunc('week', responded_at), '%Y-%m-%d')
            else 'all'
        end as group_value,
        score
    from answers
),

final as (
    select
        group_value,
        count(*) as responses,
        count(*) filter (where score >= $top_min) as top_box,
        count(*) filter (where score > $bottom_max and score < $top_min) as middle,
        count(*) filter (where score <= $bottom_max) as bottom_box,
        avg(score)::double as mean_score,
        stddev_samp(score)::double as score_sd
    from grouped
    group by group_value
    order by group_value
)

select * from final
