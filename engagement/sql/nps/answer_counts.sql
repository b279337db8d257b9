-- Grain: one row per group of the chosen breakdown ($dimension: all, touchpoint, channel, stage, loyalty,
-- country, month or week) for the survey answers of one kind ($kind) given in the window ($start,
-- $end_exclusive) by the selected customers ($channels, $segments; an empty list selects all).
-- Counts only: the top box (score >= $top_min), the bottom box (score <= $bottom_max) and the middle;
-- scores and intervals are computed from them in engagement/nps.py and engagement/csat.py.
with selected_customers as (
    select
        customer_id,
        acquisition_channel,
        lifecycle_stage,
        coalesce(country, 'unknown') as country,
        coalesce(loyalty_tier, case when is_loyalty_member then 'member (no tier)' else 'non-member' end)
            as loyalty_segment
    from customer_summary
    where (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
),

answers as (
    select
        s.score,
        s.responded_at,
        coalesce(nullif(trim(s.touchpoint), ''), 'unknown') as touchpoint,
        c.acquisition_channel,
        c.lifecycle_stage,
        c.loyalty_segment,
        c.country
    from surveys as s
    join selected_customers as c using (customer_id)
    where s.kind = $kind
      and s.responded_at >= $start
      and s.responded_at < $end_exclusive
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
