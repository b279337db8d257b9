-- Grain: one row per group of the chosen breakdown ($dimension: all, touchpoint, channel, stage, loyalty,
-- country, month or week) for the survey answers of one kind ($kind) given in the window ($start,
-- $end_exclusive) by the selected customers ($channels, $segments; an empty list selects all).
-- Counts only: the top box (score >= $top_min), the bottom box (score <= $bottom_max) and the middle;
-- scores and intervals are computed from them in engagement/voice/nps.py and engagement/voice/csat.py.
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

-- The group of each answer: a name for the attribute breakdowns, the answer's day for the month and week
-- ones (the day is cheap to take per answer; its month or week is taken once per day in `score_counts`,
-- and formatted as a label once per group in `final`).
grouped as (
    select
        case $dimension
            when 'touchpoint' then touchpoint
            when 'channel' then acquisition_channel
            when 'stage' then lifecycle_stage
            when 'loyalty' then loyalty_segment
            when 'country' then country
            when 'month' then null
            when 'week' then null
            else 'all'
        end as group_name,
        case when $dimension in ('month', 'week') then responded_at::date end as answered_on,
        score
    from answers
),

-- Scores are whole numbers on a short scale: count the answers per group, day and score first (one cheap
-- aggregate over the answers), then every statistic below comes from those few rows.
day_counts as (
    select group_name, answered_on, score, count(*) as answers
    from grouped
    group by group_name, answered_on, score
),

score_counts as (
    select
        group_name,
        case $dimension
            when 'month' then date_trunc('month', answered_on)
            when 'week' then date_trunc('week', answered_on)
        end as period_start,
        score,
        answers
    from day_counts
),

group_sums as (
    select
        group_name,
        period_start,
        sum(answers)::bigint as responses,
        coalesce(sum(answers) filter (where score >= $top_min), 0)::bigint as top_box,
        coalesce(sum(answers) filter (where score > $bottom_max and score < $top_min), 0)::bigint as middle,
        coalesce(sum(answers) filter (where score <= $bottom_max), 0)::bigint as bottom_box,
        sum(answers * score)::bigint as score_total,
        sum(answers * score * score)::bigint as score_sum_squares
    from score_counts
    group by group_name, period_start
),

final as (
    select
        coalesce(
            group_name, strftime(period_start, case $dimension when 'month' then '%Y-%m' else '%Y-%m-%d' end)
        ) as group_value,
        responses,
        top_box,
        middle,
        bottom_box,
        score_total / responses as mean_score,
        -- the sample standard deviation from the sums; the numerator is exact in integers, so never negative
        sqrt(
            (responses::hugeint * score_sum_squares - score_total::hugeint * score_total)
            / (responses * nullif(responses - 1, 0))
        ) as score_sd
    from group_sums
    order by group_value
)

select * from final
